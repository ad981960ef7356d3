/** The dataset layouts packages/datasets reads; named here so that payloads can validate them. */
export const layoutNames = ["amigos", "ubfc-rppg", "pure", "generic", "videos"] as const;
export type LayoutName = (typeof layoutNames)[number];
