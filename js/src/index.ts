/**
 * auracodec for browsers and Node (work in progress): the same frames,
 * errors and fingerprint as the Python package.
 *
 *     import { Profile, urlSource } from "auracodec";
 *     const profile = await Profile.load(urlSource("/profile/"));
 *     const pipe = profile.pipeline();          // + the WebAssembly codecs (WIP)
 *     const frame = pipe.encode("hello");
 *     const text = pipe.decode(frame);
 *
 * Node: `import { loadProfile } from "auracodec/node"` reads a directory.
 */

export * from "./errors.js";
export { Identity, METHOD_IDS } from "./codec.js";
export type { Codec, CodecContext, Fingerprint } from "./codec.js";
export { ESCAPE, FRAME_FORMAT, SessionFrame, asFrame, asMessage, asText } from "./framing.js";
export type { FrameInput, Message } from "./framing.js";
export { DEFAULT_MAX_MESSAGE_SIZE, Pipeline } from "./pipeline.js";
export type { PipelineOptions } from "./pipeline.js";
export { BUILTIN_CODECS, Profile, memorySource, pipelineFingerprint, urlSource } from "./profile.js";
export type { ArtifactSource, CodecDescription, CodecFactories, CodecFactory, CodecSettings } from "./profile.js";
export { readSmall, readVarint, unzigzag, varint, zigzag } from "./varint.js";
export { sha256, sha256Hex } from "./sha256.js";
export { TemplateCodec, TemplateSet, LibraryError, PatternError, parseTemplate, readLibrary } from "./templates/index.js";
export type { TemplateCodecOptions, Layer, Template } from "./templates/index.js";
