/**
 * gRPC server reflection (`grpc.reflection.v1` and `v1alpha`) serving the file descriptors exactly as
 * buf compiled them (generated/descriptors.binpb, written by `npm run generate`), byte for byte.
 *
 * Why not @grpc/reflection: it serves descriptors that protobufjs rebuilt from the .proto text, whose
 * map-entry message names differ from protoc's ("Attributes_Entry" style), and strict consumers
 * (grpcurl >= 1.9 through protobuf-go, Postman, Insomnia) reject every file with a map field
 * (fullstorydev/grpcurl#519). Serving compiler output also gives grpcurl the comments (source info),
 * so `grpcurl describe` shows the documentation of every element.
 *
 * The protocol (grpc/reflection/v1/reflection.proto): one bidirectional stream, one response per
 * request. A file answer carries the file and, like grpc-go's implementation, those of its transitive
 * dependencies not yet sent on this stream.
 */
import { readFileSync } from 'node:fs';
import { descriptorSetPath } from '../../../shared/descriptors';
import { status, type ServerDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';
import { fromBinary } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import {
  FileDescriptorProtoSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import {
  ServerReflectionService as ReflectionV1,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from '../../../../generated/grpc/reflection/v1/reflection';
import { ServerReflectionService as ReflectionV1Alpha } from '../../../../generated/grpc/reflection/v1alpha/reflection';

/** Split a FileDescriptorSet into each file's own bytes, untouched (field 1, repeated). */
function splitFiles(set: Uint8Array): Buffer[] {
  const reader = new BinaryReader(set);
  const files: Buffer[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) {
      const b = reader.bytes();
      files.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    }
    else reader.skip(wireType, field);
  }
  return files;
}

/** What a file declares: every fully-qualified name (as protobuf scopes them), messages, extensions. */
function declarations(file: FileDescriptorProto): { symbols: string[]; messages: string[]; extensions: Array<{ extendee: string; number: number }> } {
  const symbols: string[] = [];
  const messages: string[] = [];
  const extensions: Array<{ extendee: string; number: number }> = [];
  const qualify = (scope: string, name: string) => (scope ? `${scope}.${name}` : name);
  const ofEnum = (e: EnumDescriptorProto, scope: string) => {
    symbols.push(qualify(scope, e.name));
    // Enum values are siblings of their enum in protobuf's name scoping (C++ rules).
    for (const v of e.value) symbols.push(qualify(scope, v.name));
  };
  const ofExtensions = (xs: readonly FieldDescriptorProto[], scope: string) => {
    for (const x of xs) {
      symbols.push(qualify(scope, x.name));
      extensions.push({ extendee: x.extendee.replace(/^\./, ''), number: x.number });
    }
  };
  const ofMessage = (m: DescriptorProto, scope: string) => {
    const name = qualify(scope, m.name);
    symbols.push(name);
    messages.push(name);
    for (const f of m.field) symbols.push(`${name}.${f.name}`);
    for (const o of m.oneofDecl) symbols.push(`${name}.${o.name}`);
    for (const n of m.nestedType) ofMessage(n, name); // map entries included, as protoc declares them
    for (const e of m.enumType) ofEnum(e, name);
    ofExtensions(m.extension, name);
  };
  for (const m of file.messageType) ofMessage(m, file.package);
  for (const e of file.enumType) ofEnum(e, file.package);
  ofExtensions(file.extension, file.package);
  for (const svc of file.service) {
    const name = qualify(file.package, svc.name);
    symbols.push(name);
    for (const m of svc.method) symbols.push(`${name}.${m.name}`);
  }
  return { symbols, messages, extensions };
}

class NotFound extends Error {}

/** The index reflection answers from: files by name, symbols, extensions, services. */
export class DescriptorIndex {
  private readonly bytesByFile = new Map<string, Buffer>();
  private readonly depsByFile = new Map<string, readonly string[]>();
  private readonly fileBySymbol = new Map<string, string>();
  private readonly messages = new Set<string>();
  /** extendee -> field number -> file declaring the extension. */
  private readonly extensions = new Map<string, Map<number, string>>();

  /**
   * @param set a serialized google.protobuf.FileDescriptorSet (every dependency included, as
   *   `buf build --as-file-descriptor-set` writes it)
   * @param services the services this server really serves, listed by `list_services`
   */
  constructor(
    set: Uint8Array,
    readonly services: readonly string[],
  ) {
    for (const bytes of splitFiles(set)) {
      const file = fromBinary(FileDescriptorProtoSchema, bytes);
      this.bytesByFile.set(file.name, bytes);
      this.depsByFile.set(file.name, file.dependency);
      const { symbols, messages, extensions } = declarations(file);
      for (const symbol of symbols) this.fileBySymbol.set(symbol, file.name);
      for (const m of messages) this.messages.add(m);
      for (const x of extensions) {
        const byNumber = this.extensions.get(x.extendee) ?? new Map<number, string>();
        byNumber.set(x.number, file.name);
        this.extensions.set(x.extendee, byNumber);
      }
    }
    for (const dep of [...this.depsByFile.values()].flat()) {
      if (!this.bytesByFile.has(dep)) throw new Error(`descriptor set: dependency ${dep} is missing`);
    }
    for (const s of services) if (!this.fileBySymbol.has(s)) throw new Error(`descriptor set: no service ${s}`);
  }

  /** Load generated/descriptors.binpb. */
  static load(services: readonly string[], file = descriptorSetPath()): DescriptorIndex {
    return new DescriptorIndex(readFileSync(file), services);
  }

  /** The file named, then its transitive dependencies, skipping files already in `sent`. */
  fileWithDependencies(name: string, sent: Set<string>): Buffer[] {
    if (!this.bytesByFile.has(name)) throw new NotFound(`file not found: ${name}`);
    const out: Buffer[] = [this.bytesByFile.get(name)!];
    sent.add(name);
    const visit = (file: string) => {
      for (const dep of this.depsByFile.get(file) ?? []) {
        if (sent.has(dep)) continue;
        sent.add(dep);
        const bytes = this.bytesByFile.get(dep);
        if (bytes) out.push(bytes);
        visit(dep);
      }
    };
    visit(name);
    return out;
  }

  /** The file declaring a fully-qualified symbol (message, enum, value, field, service, method...). */
  fileOfSymbol(symbol: string): string {
    const file = this.fileBySymbol.get(symbol.replace(/^\./, ''));
    if (!file) throw new NotFound(`symbol not found: ${symbol}`);
    return file;
  }

  fileOfExtension(type: string, number: number): string {
    const file = this.extensions.get(type)?.get(number);
    if (!file) throw new NotFound(`extension not found: ${type} field ${number}`);
    return file;
  }

  extensionNumbers(type: string): number[] {
    if (!this.messages.has(type)) throw new NotFound(`type not found: ${type}`);
    return [...(this.extensions.get(type)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** One reflection answer. `sent` is the stream's record of files already sent. */
  answer(req: ServerReflectionRequest, sent: Set<string>): ServerReflectionResponse {
    const base = { validHost: req.host, originalRequest: req };
    const files = (name: string): ServerReflectionResponse => ({
      ...base,
      messageResponse: { $case: 'fileDescriptorResponse', fileDescriptorResponse: { fileDescriptorProto: this.fileWithDependencies(name, sent) } },
    });
    try {
      const r = req.messageRequest;
      switch (r?.$case) {
        case 'fileByFilename':
          return files(r.fileByFilename);
        case 'fileContainingSymbol':
          return files(this.fileOfSymbol(r.fileContainingSymbol));
        case 'fileContainingExtension':
          return files(this.fileOfExtension(r.fileContainingExtension.containingType, r.fileContainingExtension.extensionNumber));
        case 'allExtensionNumbersOfType':
          return {
            ...base,
            messageResponse: {
              $case: 'allExtensionNumbersResponse',
              allExtensionNumbersResponse: { baseTypeName: r.allExtensionNumbersOfType, extensionNumber: this.extensionNumbers(r.allExtensionNumbersOfType) },
            },
          };
        case 'listServices':
          return { ...base, messageResponse: { $case: 'listServicesResponse', listServicesResponse: { service: this.services.map((name) => ({ name })) } } };
        default:
          return { ...base, messageResponse: { $case: 'errorResponse', errorResponse: { errorCode: status.INVALID_ARGUMENT, errorMessage: 'empty or unknown reflection request' } } };
      }
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
      return { ...base, messageResponse: { $case: 'errorResponse', errorResponse: { errorCode: status.NOT_FOUND, errorMessage: err.message } } };
    }
  }
}

/** The bidirectional handler: one answer per request, in order; the stream ends when the client's does. */
export function reflectionHandler(index: DescriptorIndex) {
  return (call: ServerDuplexStream<ServerReflectionRequest, ServerReflectionResponse>): void => {
    const sent = new Set<string>();
    call.on('data', (req: ServerReflectionRequest) => call.write(index.answer(req, sent)));
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  };
}

/** Both reflection versions (same messages, different service names), for Server.addService. */
export const REFLECTION_SERVICES: readonly { name: string; definition: ServiceDefinition }[] = [
  { name: 'grpc.reflection.v1.ServerReflection', definition: ReflectionV1 as unknown as ServiceDefinition },
  { name: 'grpc.reflection.v1alpha.ServerReflection', definition: ReflectionV1Alpha as unknown as ServiceDefinition },
];
