import { basename, type DatasetLayout, type Listing, type Recording } from "./layout.ts";

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
 * reference is its trial of its participant's .mat (read by the ecg stage, per participant, with
 * packages/matfile: the .mat is binary, so parseReference does not apply).
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

  parseReference(source) {
    throw new Error(
      `${source.file} is an AMIGOS .mat: the ecg stage reads every trial of it at once (workers/ecg, labelMatFile).`,
    );
  },
};
