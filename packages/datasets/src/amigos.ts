import { type MatValue, readMat } from "@hrpipe/matfile";
import {
  basename,
  type DatasetLayout,
  type Listing,
  type Recording,
  type ReferenceSignal,
} from "./layout.ts";

/** AMIGOS preprocessed data: 128 Hz, joined_data columns 0-13 EEG, 14 ECG right, 15 ECG left, 16 GSR. */
export const amigosSampleRateHz = 128;
export const amigosColumns = 17;
/** The ECG lead read where a reference names no column: the left arm's, as the run's default. */
const defaultEcgColumn = 15;

/** One trial of a participant's .mat: its video id and its joined_data matrix, or why it has none. */
export type AmigosTrial =
  | { videoId: string; rows: number; columns: number; column(index: number): Float64Array }
  | { videoId: string; excluded: string };

function charText(value: MatValue | undefined): string | undefined {
  return value?.kind === "char" ? value.text.trim() : undefined;
}

/**
 * The trials of an AMIGOS `Data_Preprocessed_Pxx.mat` (`file` names it in errors): joined_data's
 * matrices by VideoIDs. A file that is no such .mat throws; a trial that holds no matrix comes back
 * with the reason, and the others are read.
 */
export function amigosTrials(bytes: Uint8Array, file: string): AmigosTrial[] {
  const variables = readMat(bytes, file).variables;
  const joined = variables["joined_data"];
  const ids = variables["VideoIDs"];
  if (joined?.kind !== "cell")
    throw new Error(`${file} has no joined_data cell array; is it an AMIGOS Data_Preprocessed_Pxx.mat file?`);
  if (ids?.kind !== "cell")
    throw new Error(`${file} has no VideoIDs cell array; is it an AMIGOS Data_Preprocessed_Pxx.mat file?`);
  if (ids.cells.length !== joined.cells.length)
    throw new Error(
      `${file} has ${joined.cells.length} joined_data trials but ${ids.cells.length} VideoIDs; the file is inconsistent.`,
    );
  return joined.cells.map((trial, i): AmigosTrial => {
    const videoId = charText(ids.cells[i]) ?? `trial${i + 1}`;
    if (trial.kind !== "numeric")
      return {
        videoId,
        excluded: `${file} trial ${videoId}: joined_data holds a ${trial.kind}, not a matrix`,
      };
    const [rows = 0, columns = 0] = trial.dims;
    if (rows === 0 || columns === 0)
      return { videoId, excluded: `${file} trial ${videoId}: joined_data is empty` };
    return {
      videoId,
      rows,
      columns,
      column(index) {
        if (index >= columns)
          throw new Error(
            `${file} trial ${videoId} has ${columns} columns, too few for ECG column ${index}; AMIGOS preprocessed trials have ${amigosColumns}.`,
          );
        return trial.real.subarray(index * rows, (index + 1) * rows);
      },
    };
  });
}

const matPattern = /(?:^|\/)Data_Preprocessed_(P\d{1,4})\.mat$/i;
const videoPattern = /(?:^|\/)(P\d{1,4})_([A-Za-z0-9]{1,64})_face\.(mov|mp4|avi|mkv)$/i;
const videoExtension = /\.(mov|mp4|avi|mkv)$/i;
const layoutFiles = "Data_Preprocessed_Pxx.mat and Pxx_<video>_face.mov|mp4|avi|mkv";

/** AMIGOS writes P1 and P01 for the same person; every key and report uses the zero-padded form. */
export function amigosParticipant(id: string): string {
  return `P${/^P0*(\d{1,4})$/i.exec(id)![1]!.padStart(2, "0")}`;
}

/**
 * AMIGOS (Miranda-Correa et al. 2019): per participant `Data_Preprocessed_Pxx.mat`, whose joined_data
 * holds one trial per video (ECG in columns 14 and 15 at 128 Hz) named by VideoIDs, and per video
 * `Pxx_<videoId>_face.mov`, in any sub-folders. Video ids are 4..138 for the 16 short videos and N1,
 * P1, B1, U1 for the 4 long ones; P1 and P01 are the same person and video 04 is video 4. A video's
 * reference is its trial of its participant's .mat: the labels stage labels every trial of a participant
 * at once (amigosTrials); parseReference reads one trial's ECG column.
 */
export const amigos: DatasetLayout = {
  name: "amigos",

  detect(files) {
    return files.some((file) => matPattern.test(file) || videoPattern.test(file));
  },

  list(files): Listing {
    const mats = new Map<string, string>();
    const excluded: NonNullable<Listing["excluded"]> = [];
    const ignored: Listing["ignored"] = [];
    const videos: { file: string; subject: string; id: string }[] = [];
    for (const file of files) {
      const participantMatch = /^(P\d{1,4})(?!\d)/i.exec(basename(file));
      const subject = participantMatch ? amigosParticipant(participantMatch[1]!) : undefined;
      const mat = matPattern.exec(file);
      const video = videoPattern.exec(file);
      if (mat) {
        const participant = amigosParticipant(mat[1]!);
        const first = mats.get(participant);
        if (first)
          excluded.push({
            file,
            subject: participant,
            reason: `${file} duplicates ${first}; the first is used.`,
          });
        else mats.set(participant, file);
      } else if (video) {
        videos.push({ file, subject: amigosParticipant(video[1]!), id: video[2]!.replace(/^0+(?=\d)/, "") });
      } else if (videoExtension.test(file)) {
        excluded.push({
          file,
          subject,
          reason: `${file} looks like a face video but is not named Pxx_<video>_face.<ext> (letters and digits only in Pxx and <video>); rename it, e.g. to P01_5_face.mov, to use it.`,
        });
      } else if (/\.mat$/i.test(file)) {
        excluded.push({
          file,
          subject,
          reason: `${file} is a .mat file but not named Data_Preprocessed_Pxx.mat; rename it to use it.`,
        });
      } else ignored.push({ file, reason: `not a file of the layout (${layoutFiles})` });
    }
    const recordings: Recording[] = videos.map(({ file, subject, id }) => {
      const mat = mats.get(subject);
      return {
        subject,
        id,
        video: file,
        frames: "video",
        ...(mat
          ? { reference: { file: mat, kind: "ecg" as const, trial: id } }
          : {
              excluded: `no Data_Preprocessed_${subject}.mat in the dataset, so ${file} has no ECG labels.`,
            }),
      };
    });
    return { recordings, ignored, excluded };
  },

  parseReference(source, contents): ReferenceSignal {
    const trial = amigosTrials(contents, source.file).find((t) => t.videoId === source.trial);
    if (!trial)
      throw new Error(`${source.file} has no trial ${source.trial ?? "(none named)"} in its VideoIDs.`);
    if ("excluded" in trial) throw new Error(trial.excluded);
    const values = Float64Array.from(
      trial.column(source.column === undefined ? defaultEcgColumn : Number(source.column)),
    );
    return {
      kind: "ecg",
      timeS: Float64Array.from(values, (_, i) => i / amigosSampleRateHz + (source.offsetS ?? 0)),
      values,
    };
  },
};
