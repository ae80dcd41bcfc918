/**
 * auracodec for browsers and Node: the same frames, sessions, errors and
 * fingerprint as the Python package.
 *
 *     import { loadProfile } from "auracodec";  // a URL (browser) or a directory (Node)
 *     const profile = await loadProfile("/profile/");
 *     const pipe = profile.pipeline();          // BRIO, zstd, brotli on the WebAssembly core
 *     const frame = pipe.encode("hello");
 *     const text = pipe.decode(frame);
 *     const session = pipe.session();           // contexts across a connection
 *
 * See README.md for the API.
 */

export * from "./errors.js";
export { Identity, METHOD_IDS } from "./codec.js";
export type { Codec, CodecContext, Fingerprint } from "./codec.js";
export { ESCAPE, FRAME_FORMAT, SessionFrame, asFrame, asMessage, asText } from "./framing.js";
export type { FrameInput, Message } from "./framing.js";
export { DEFAULT_MAX_MESSAGE_SIZE, Pipeline } from "./pipeline.js";
export type { DecodeEntry, PipelineOptions } from "./pipeline.js";
export { BUILTIN_CODECS, Profile, memorySource, pipelineFingerprint, urlSource, wasmFactories } from "./profile.js";
export type { ArtifactSource, CodecDescription, CodecFactories, CodecFactory, CodecSettings, LoadOptions } from "./profile.js";
export { Session, crc32, digest } from "./session.js";
export type { EncodeOptions, SessionOptions } from "./session.js";
export { AuraWasm, WasmError, defaultWasmUrl, loadWasm } from "./wasm.js";
export type { WasmSource } from "./wasm.js";
export { BrioCodec, BrioContext } from "./codecs/brio.js";
export { ZstdCodec, ZstdContext } from "./codecs/zstd.js";
export { BrotliCodec } from "./codecs/brotli.js";
export { loadProfile } from "./load.js";
export { readSmall, readVarint, unzigzag, varint, zigzag } from "./varint.js";
export { sha256, sha256Hex } from "./sha256.js";
export { parse as parseToml } from "./toml.js";
export { TemplateCodec, TemplateSet, LibraryError, PatternError, parseTemplate, readLibrary } from "./templates/index.js";
export type { TemplateCodecOptions, Layer, Template } from "./templates/index.js";
export * from "./ws/index.js";
