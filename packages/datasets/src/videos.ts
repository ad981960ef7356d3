import { basename, type DatasetLayout, dirname, type Listing, videoExtension } from "./layout.ts";
import { naturalOrder } from "./ubfc-rppg.ts";

/** Any folder of videos, no reference: an inference run. A video's subject is its folder's name, or its own at the top. */
export const videos: DatasetLayout = {
  name: "videos",

  detect(files) {
    return files.some((file) => videoExtension.test(file));
  },

  list(files): Listing {
    const found = files.filter((file) => videoExtension.test(file)).sort(naturalOrder);
    return {
      recordings: found.map((video) => ({
        subject: basename(dirname(video)) || basename(video).replace(/\.[^.]+$/, ""),
        video,
        frames: "video" as const,
      })),
      ignored: files
        .filter((file) => !videoExtension.test(file))
        .map((file) => ({ file, reason: "not a video" })),
    };
  },
};
