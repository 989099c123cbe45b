/** Defaults of `cloak generate`, in a file of their own so the CLI can show them without loading the k8s layer. */
/** CoCo peer pods on Azure (see platforms.ts); its runtime class is the default one. */
export const DEFAULT_PLATFORM = 'azure';
export const DEFAULT_RUNTIME_CLASS = 'kata-remote';
/** No published image: `cloak generate` requires --agent-image (the image `npm run image` builds and pushes); library callers that give none get this name, which never resolves (.invalid). */
export const DEFAULT_AGENT_IMAGE = 'cloak.invalid/cloak:0.1.0';
