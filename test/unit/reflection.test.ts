/**
 * The reflection index (src/server/network/grpc/reflection.ts) without a network: files served as buf compiled
 * them, with dependencies once per stream, symbols of every kind, and NOT_FOUND for the unknown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { DescriptorIndex } from '../../src/server/network/grpc/reflection';
import type { ServerReflectionRequest, ServerReflectionResponse } from '../../generated/grpc/reflection/v1/reflection';

const SERVICES = ['nameserver.v1.RouteQuery', 'grpc.health.v1.Health'];
const index = DescriptorIndex.load(SERVICES);

function files(res: ServerReflectionResponse): string[] {
  assert.equal(res.messageResponse?.$case, 'fileDescriptorResponse', JSON.stringify(res.messageResponse));
  if (res.messageResponse?.$case !== 'fileDescriptorResponse') return [];
  return res.messageResponse.fileDescriptorResponse.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
}

const ask = (messageRequest: ServerReflectionRequest['messageRequest'], sent = new Set<string>()) => index.answer({ host: '', messageRequest }, sent);

test('a file comes with its dependencies, each sent once per stream', () => {
  const sent = new Set<string>();
  assert.deepEqual(files(ask({ $case: 'fileByFilename', fileByFilename: 'nameserver/v1/admin.proto' }, sent)), [
    'nameserver/v1/admin.proto',
    'nameserver/v1/common.proto',
    'nameserver/v1/route_query.proto',
  ]);
  // route_query.proto again: asked for, so sent; common.proto already went on this stream.
  assert.deepEqual(files(ask({ $case: 'fileByFilename', fileByFilename: 'nameserver/v1/route_query.proto' }, sent)), ['nameserver/v1/route_query.proto']);
});

test('map fields keep protoc\'s implicit entry messages (what strict clients such as grpcurl check)', () => {
  const res = ask({ $case: 'fileContainingSymbol', fileContainingSymbol: 'nameserver.v1.TopicConfig' });
  assert.equal(res.messageResponse?.$case, 'fileDescriptorResponse');
  if (res.messageResponse?.$case !== 'fileDescriptorResponse') return;
  const common = fromBinary(FileDescriptorProtoSchema, res.messageResponse.fileDescriptorResponse.fileDescriptorProto[0]!);
  const topicConfig = common.messageType.find((m) => m.name === 'TopicConfig')!;
  const entry = topicConfig.nestedType.find((m) => m.name === 'AttributesEntry');
  assert.ok(entry?.options?.mapEntry, 'TopicConfig.AttributesEntry is a map entry, named as protoc names it');
  assert.ok(common.sourceCodeInfo && common.sourceCodeInfo.location.length > 0, 'comments (source info) are served');
});

test('symbols of every kind resolve to their file', () => {
  const cases: Array<[string, string]> = [
    ['nameserver.v1.RouteQuery', 'nameserver/v1/route_query.proto'],
    ['nameserver.v1.RouteQuery.GetRoute', 'nameserver/v1/route_query.proto'],
    ['.nameserver.v1.GetRouteRequest', 'nameserver/v1/route_query.proto'],
    ['nameserver.v1.GetRouteRequest.topic', 'nameserver/v1/route_query.proto'],
    ['nameserver.v1.Permission', 'nameserver/v1/common.proto'],
    ['nameserver.v1.PERMISSION_READ', 'nameserver/v1/common.proto'],
    ['nameserver.v1.TopicConfig.AttributesEntry', 'nameserver/v1/common.proto'],
    ['grpc.health.v1.HealthCheckResponse.ServingStatus', 'grpc/health/v1/health.proto'],
    ['grpc.reflection.v1.ServerReflection', 'grpc/reflection/v1/reflection.proto'],
  ];
  for (const [symbol, file] of cases) assert.equal(index.fileOfSymbol(symbol), file, symbol);
});

test('unknown files, symbols and types answer NOT_FOUND; list_services lists what is served', () => {
  for (const messageRequest of [
    { $case: 'fileByFilename', fileByFilename: 'nope.proto' },
    { $case: 'fileContainingSymbol', fileContainingSymbol: 'nameserver.v1.Nope' },
    { $case: 'allExtensionNumbersOfType', allExtensionNumbersOfType: 'nameserver.v1.Nope' },
    { $case: 'fileContainingExtension', fileContainingExtension: { containingType: 'nameserver.v1.Route', extensionNumber: 100 } },
  ] as const) {
    const res = ask(messageRequest);
    assert.equal(res.messageResponse?.$case, 'errorResponse', messageRequest.$case);
    if (res.messageResponse?.$case === 'errorResponse') assert.equal(res.messageResponse.errorResponse.errorCode, status.NOT_FOUND);
  }
  const ext = ask({ $case: 'allExtensionNumbersOfType', allExtensionNumbersOfType: 'nameserver.v1.Route' });
  assert.deepEqual(ext.messageResponse, { $case: 'allExtensionNumbersResponse', allExtensionNumbersResponse: { baseTypeName: 'nameserver.v1.Route', extensionNumber: [] } });
  const list = ask({ $case: 'listServices', listServices: '*' });
  assert.deepEqual(list.messageResponse, { $case: 'listServicesResponse', listServicesResponse: { service: SERVICES.map((name) => ({ name })) } });
  assert.throws(() => DescriptorIndex.load(['nameserver.v1.NoSuchService']), /no service nameserver.v1.NoSuchService/);
});
