export { encodeInitData, decodeInitData, workloadInitData, initDataDigestHex, type WorkloadInitData } from '../lib/index.ts';

export const INITDATA_ANNOTATION = 'io.katacontainers.config.hypervisor.cc_init_data';
