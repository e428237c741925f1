// @ts-nocheck
import type { TwirpContext, RouterEvents, Interceptor } from "twirp-ts";
import { TwirpServer, TwirpError, TwirpErrorCode, TwirpContentType, chainInterceptors } from "twirp-ts";
import {
  PendingMessageRequest,
  PendingMessageResponse,
  DeletedPendingMessageResponse,
} from "./pending_message.js";

//==================================//
//          Client Code             //
//==================================//

interface Rpc {
  request(
    service: string,
    method: string,
    contentType: "application/json" | "application/protobuf",
    data: object | Uint8Array
  ): Promise<object | Uint8Array>;
}

export interface PendingMessageServiceClient {
  PassOnPendingMessage(
    request: PendingMessageRequest
  ): Promise<PendingMessageResponse>;
  DeletedPendingMessage(
    request: PendingMessageRequest
  ): Promise<DeletedPendingMessageResponse>;
}

export class PendingMessageServiceClientJSON
  implements PendingMessageServiceClient
{
  private readonly rpc: Rpc;
  constructor(rpc: Rpc) {
    this.rpc = rpc;
    this.PassOnPendingMessage.bind(this);
    this.DeletedPendingMessage.bind(this);
  }
  PassOnPendingMessage(
    request: PendingMessageRequest
  ): Promise<PendingMessageResponse> {
    const data = PendingMessageRequest.toJson(request, {
      useProtoFieldName: true,
      emitDefaultValues: false,
    });
    const promise = this.rpc.request(
      "pendingmessage.v1.PendingMessageService",
      "PassOnPendingMessage",
      "application/json",
      data as object
    );
    return promise.then((data) =>
      PendingMessageResponse.fromJson(data as any, {
        ignoreUnknownFields: true,
      })
    );
  }

  DeletedPendingMessage(
    request: PendingMessageRequest
  ): Promise<DeletedPendingMessageResponse> {
    const data = PendingMessageRequest.toJson(request, {
      useProtoFieldName: true,
      emitDefaultValues: false,
    });
    const promise = this.rpc.request(
      "pendingmessage.v1.PendingMessageService",
      "DeletedPendingMessage",
      "application/json",
      data as object
    );
    return promise.then((data) =>
      DeletedPendingMessageResponse.fromJson(data as any, {
        ignoreUnknownFields: true,
      })
    );
  }
}

export class PendingMessageServiceClientProtobuf
  implements PendingMessageServiceClient
{
  private readonly rpc: Rpc;
  constructor(rpc: Rpc) {
    this.rpc = rpc;
    this.PassOnPendingMessage.bind(this);
    this.DeletedPendingMessage.bind(this);
  }
  PassOnPendingMessage(
    request: PendingMessageRequest
  ): Promise<PendingMessageResponse> {
    const data = PendingMessageRequest.toBinary(request);
    const promise = this.rpc.request(
      "pendingmessage.v1.PendingMessageService",
      "PassOnPendingMessage",
      "application/protobuf",
      data
    );
    return promise.then((data) =>
      PendingMessageResponse.fromBinary(data as Uint8Array)
    );
  }

  DeletedPendingMessage(
    request: PendingMessageRequest
  ): Promise<DeletedPendingMessageResponse> {
    const data = PendingMessageRequest.toBinary(request);
    const promise = this.rpc.request(
      "pendingmessage.v1.PendingMessageService",
      "DeletedPendingMessage",
      "application/protobuf",
      data
    );
    return promise.then((data) =>
      DeletedPendingMessageResponse.fromBinary(data as Uint8Array)
    );
  }
}

//==================================//
//          Server Code             //
//==================================//

export interface PendingMessageServiceTwirp<
  T extends TwirpContext = TwirpContext
> {
  PassOnPendingMessage(
    ctx: T,
    request: PendingMessageRequest
  ): Promise<PendingMessageResponse>;
  DeletedPendingMessage(
    ctx: T,
    request: PendingMessageRequest
  ): Promise<DeletedPendingMessageResponse>;
}

export enum PendingMessageServiceMethod {
  PassOnPendingMessage = "PassOnPendingMessage",
  DeletedPendingMessage = "DeletedPendingMessage",
}

export const PendingMessageServiceMethodList = [
  PendingMessageServiceMethod.PassOnPendingMessage,
  PendingMessageServiceMethod.DeletedPendingMessage,
];

export function createPendingMessageServiceServer<
  T extends TwirpContext = TwirpContext
>(service: PendingMessageServiceTwirp<T>) {
  return new TwirpServer<PendingMessageServiceTwirp, T>({
    service,
    packageName: "pendingmessage.v1",
    serviceName: "PendingMessageService",
    methodList: PendingMessageServiceMethodList,
    matchRoute: matchPendingMessageServiceRoute,
  });
}

function matchPendingMessageServiceRoute<T extends TwirpContext = TwirpContext>(
  method: string,
  events: RouterEvents<T>
) {
  switch (method) {
    case "PassOnPendingMessage":
      return async (
        ctx: T,
        service: PendingMessageServiceTwirp,
        data: Buffer,
        interceptors?: Interceptor<
          T,
          PendingMessageRequest,
          PendingMessageResponse
        >[]
      ) => {
        ctx = { ...ctx, methodName: "PassOnPendingMessage" };
        await events.onMatch(ctx);
        return handlePendingMessageServicePassOnPendingMessageRequest(
          ctx,
          service,
          data,
          interceptors
        );
      };
    case "DeletedPendingMessage":
      return async (
        ctx: T,
        service: PendingMessageServiceTwirp,
        data: Buffer,
        interceptors?: Interceptor<
          T,
          PendingMessageRequest,
          DeletedPendingMessageResponse
        >[]
      ) => {
        ctx = { ...ctx, methodName: "DeletedPendingMessage" };
        await events.onMatch(ctx);
        return handlePendingMessageServiceDeletedPendingMessageRequest(
          ctx,
          service,
          data,
          interceptors
        );
      };
    default:
      events.onNotFound();
      const msg = `no handler found`;
      throw new TwirpError(TwirpErrorCode.BadRoute, msg);
  }
}

function handlePendingMessageServicePassOnPendingMessageRequest<
  T extends TwirpContext = TwirpContext
>(
  ctx: T,
  service: PendingMessageServiceTwirp,
  data: Buffer,
  interceptors?: Interceptor<T, PendingMessageRequest, PendingMessageResponse>[]
): Promise<string | Uint8Array> {
  switch (ctx.contentType) {
    case TwirpContentType.JSON:
      return handlePendingMessageServicePassOnPendingMessageJSON<T>(
        ctx,
        service,
        data,
        interceptors
      );
    case TwirpContentType.Protobuf:
      return handlePendingMessageServicePassOnPendingMessageProtobuf<T>(
        ctx,
        service,
        data,
        interceptors
      );
    default:
      const msg = "unexpected Content-Type";
      throw new TwirpError(TwirpErrorCode.BadRoute, msg);
  }
}

function handlePendingMessageServiceDeletedPendingMessageRequest<
  T extends TwirpContext = TwirpContext
>(
  ctx: T,
  service: PendingMessageServiceTwirp,
  data: Buffer,
  interceptors?: Interceptor<
    T,
    PendingMessageRequest,
    DeletedPendingMessageResponse
  >[]
): Promise<string | Uint8Array> {
  switch (ctx.contentType) {
    case TwirpContentType.JSON:
      return handlePendingMessageServiceDeletedPendingMessageJSON<T>(
        ctx,
        service,
        data,
        interceptors
      );
    case TwirpContentType.Protobuf:
      return handlePendingMessageServiceDeletedPendingMessageProtobuf<T>(
        ctx,
        service,
        data,
        interceptors
      );
    default:
      const msg = "unexpected Content-Type";
      throw new TwirpError(TwirpErrorCode.BadRoute, msg);
  }
}
async function handlePendingMessageServicePassOnPendingMessageJSON<
  T extends TwirpContext = TwirpContext
>(
  ctx: T,
  service: PendingMessageServiceTwirp,
  data: Buffer,
  interceptors?: Interceptor<T, PendingMessageRequest, PendingMessageResponse>[]
) {
  let request: PendingMessageRequest;
  let response: PendingMessageResponse;

  try {
    const body = JSON.parse(data.toString() || "{}");
    request = PendingMessageRequest.fromJson(body, {
      ignoreUnknownFields: true,
    });
  } catch (e) {
    if (e instanceof Error) {
      const msg = "the json request could not be decoded";
      throw new TwirpError(TwirpErrorCode.Malformed, msg).withCause(e, true);
    }
  }

  if (interceptors && interceptors.length > 0) {
    const interceptor = chainInterceptors(...interceptors) as Interceptor<
      T,
      PendingMessageRequest,
      PendingMessageResponse
    >;
    response = await interceptor(ctx, request!, (ctx, inputReq) => {
      return service.PassOnPendingMessage(ctx, inputReq);
    });
  } else {
    response = await service.PassOnPendingMessage(ctx, request!);
  }

  return JSON.stringify(
    PendingMessageResponse.toJson(response, {
      useProtoFieldName: true,
      emitDefaultValues: false,
    }) as string
  );
}

async function handlePendingMessageServiceDeletedPendingMessageJSON<
  T extends TwirpContext = TwirpContext
>(
  ctx: T,
  service: PendingMessageServiceTwirp,
  data: Buffer,
  interceptors?: Interceptor<
    T,
    PendingMessageRequest,
    DeletedPendingMessageResponse
  >[]
) {
  let request: PendingMessageRequest;
  let response: DeletedPendingMessageResponse;

  try {
    const body = JSON.parse(data.toString() || "{}");
    request = PendingMessageRequest.fromJson(body, {
      ignoreUnknownFields: true,
    });
  } catch (e) {
    if (e instanceof Error) {
      const msg = "the json request could not be decoded";
      throw new TwirpError(TwirpErrorCode.Malformed, msg).withCause(e, true);
    }
  }

  if (interceptors && interceptors.length > 0) {
    const interceptor = chainInterceptors(...interceptors) as Interceptor<
      T,
      PendingMessageRequest,
      DeletedPendingMessageResponse
    >;
    response = await interceptor(ctx, request!, (ctx, inputReq) => {
      return service.DeletedPendingMessage(ctx, inputReq);
    });
  } else {
    response = await service.DeletedPendingMessage(ctx, request!);
  }

  return JSON.stringify(
    DeletedPendingMessageResponse.toJson(response, {
      useProtoFieldName: true,
      emitDefaultValues: false,
    }) as string
  );
}
async function handlePendingMessageServicePassOnPendingMessageProtobuf<
  T extends TwirpContext = TwirpContext
>(
  ctx: T,
  service: PendingMessageServiceTwirp,
  data: Buffer,
  interceptors?: Interceptor<T, PendingMessageRequest, PendingMessageResponse>[]
) {
  let request: PendingMessageRequest;
  let response: PendingMessageResponse;

  try {
    request = PendingMessageRequest.fromBinary(data);
  } catch (e) {
    if (e instanceof Error) {
      const msg = "the protobuf request could not be decoded";
      throw new TwirpError(TwirpErrorCode.Malformed, msg).withCause(e, true);
    }
  }

  if (interceptors && interceptors.length > 0) {
    const interceptor = chainInterceptors(...interceptors) as Interceptor<
      T,
      PendingMessageRequest,
      PendingMessageResponse
    >;
    response = await interceptor(ctx, request!, (ctx, inputReq) => {
      return service.PassOnPendingMessage(ctx, inputReq);
    });
  } else {
    response = await service.PassOnPendingMessage(ctx, request!);
  }

  return Buffer.from(PendingMessageResponse.toBinary(response));
}

async function handlePendingMessageServiceDeletedPendingMessageProtobuf<
  T extends TwirpContext = TwirpContext
>(
  ctx: T,
  service: PendingMessageServiceTwirp,
  data: Buffer,
  interceptors?: Interceptor<
    T,
    PendingMessageRequest,
    DeletedPendingMessageResponse
  >[]
) {
  let request: PendingMessageRequest;
  let response: DeletedPendingMessageResponse;

  try {
    request = PendingMessageRequest.fromBinary(data);
  } catch (e) {
    if (e instanceof Error) {
      const msg = "the protobuf request could not be decoded";
      throw new TwirpError(TwirpErrorCode.Malformed, msg).withCause(e, true);
    }
  }

  if (interceptors && interceptors.length > 0) {
    const interceptor = chainInterceptors(...interceptors) as Interceptor<
      T,
      PendingMessageRequest,
      DeletedPendingMessageResponse
    >;
    response = await interceptor(ctx, request!, (ctx, inputReq) => {
      return service.DeletedPendingMessage(ctx, inputReq);
    });
  } else {
    response = await service.DeletedPendingMessage(ctx, request!);
  }

  return Buffer.from(DeletedPendingMessageResponse.toBinary(response));
}
