import { defineErrors } from '../define.js';

/** Local softphone telephony and offline speech (flite, pocketsphinx). */
export const LOCAL_ERRORS = defineErrors({});
