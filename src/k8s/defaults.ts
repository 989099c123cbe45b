/** Defaults of `cloak generate`, in a file of their own so the CLI can show them without loading the k8s layer. */
export const DEFAULT_RUNTIME_CLASS = 'kata-cc-isolation';
export const DEFAULT_AGENT_IMAGE = 'ghcr.io/cloak-project/cloak:0.1.0';
