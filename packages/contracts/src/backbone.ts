import { z } from "zod";

/** What the features stage embeds with: a DenseNet in torchvision's layout, and where its weights came from. */
export const denseNetConfigSchema = z.object({
  growthRate: z.number().int(),
  blockConfig: z.array(z.number().int()),
  numInitFeatures: z.number().int(),
  bnSize: z.number().int(),
});

export const weightsProvenanceSchema = z.object({
  kind: z.enum(["pretrained", "random-init"]),
  /** The weights file, or the seed of the random initialisation. */
  source: z.string(),
  /** Content address of the weights and config: features are reused only with the same backbone. */
  weightsHash: z.string(),
  config: denseNetConfigSchema,
  note: z.string(),
});
export type WeightsProvenance = z.infer<typeof weightsProvenanceSchema>;
