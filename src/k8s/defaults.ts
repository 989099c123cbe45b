/** Defaults of `cloak generate`, in a file of their own so the CLI can show them without loading the k8s layer. */
export const DEFAULT_RUNTIME_CLASS = 'kata-cc-isolation';
/** No published image: `cloak generate` requires --agent-image (the image `npm run image` builds and pushes); library callers that give none get this name, which never resolves (.invalid). */
export const DEFAULT_AGENT_IMAGE = 'cloak.invalid/cloak:0.1.0';
