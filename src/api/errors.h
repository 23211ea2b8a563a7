/*
 * errors.h -- the one vocabulary of Azure errors: each entry is (code, HTTP status, message).
 * Handlers name an error by its code (api_fail(q, E_BlobNotFound)); the status, the
 * x-ms-error-code header and the XML body all come from this table, so they cannot disagree.
 */
#ifndef COBALT_API_ERRORS_H
#define COBALT_API_ERRORS_H

#define AZ_ERRORS(X)                                                                              \
    X(AuthenticationFailed, 403, "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.") \
    X(AuthorizationFailure, 403, "This request is not authorized to perform this operation.")    \
    X(AuthorizationPermissionMismatch, 403, "This request is not authorized to perform this operation using this permission.") \
    X(BlobAlreadyExists, 409, "The specified blob already exists.")                               \
    X(BlobNotFound, 404, "The specified blob does not exist.")                                    \
    X(BlockCountExceedsLimit, 409, "The committed block count cannot exceed the maximum limit of 50,000 blocks.") \
    X(BlockListTooLong, 400, "The block list may not contain more than 50,000 blocks.")          \
    X(BothCrc64AndMd5HeaderPresent, 400, "Both x-ms-content-crc64 header and Content-MD5 header are present.") \
    X(ConditionNotMet, 412, "The condition specified using HTTP conditional header(s) is not met.") \
    X(ContainerAlreadyExists, 409, "The specified container already exists.")                     \
    X(ContainerNotFound, 404, "The specified container does not exist.")                          \
    X(Crc64Mismatch, 400, "The CRC64 value specified in the request did not match with the CRC64 value calculated by the server.") \
    X(EmptyMetadataKey, 400, "The key for one of the metadata key-value pairs is empty.")        \
    X(InternalError, 500, "The server encountered an internal error. Please retry the request.") \
    X(InvalidBlobOrBlock, 400, "The specified blob or block content is invalid.")                 \
    X(InvalidBlobType, 409, "The blob type is invalid for this operation.")                       \
    X(InvalidBlockId, 400, "The specified block ID is invalid. The block ID must be Base64-encoded.") \
    X(InvalidBlockList, 400, "The specified block list is invalid.")                              \
    X(InvalidHeaderValue, 400, "The value for one of the HTTP headers is not in the correct format.") \
    X(InvalidHttpVerb, 400, "The HTTP verb specified was not recognized by the server.")          \
    X(InvalidMd5, 400, "The MD5 value specified in the request is invalid. The MD5 value must be 128 bits and Base64-encoded.") \
    X(InvalidMetadata, 400, "The metadata specified is invalid. It has characters that are not permitted.") \
    X(InvalidQueryParameterValue, 400, "Value for one of the query parameters specified in the request URI is invalid.") \
    X(InvalidRange, 416, "The range specified is invalid for the current size of the resource.") \
    X(InvalidResourceName, 400, "The specified resource name contains invalid characters.")      \
    X(InvalidUri, 400, "The requested URI does not represent any resource on the server.")       \
    X(InvalidXmlDocument, 400, "XML specified is not syntactically valid.")                       \
    X(InvalidXmlNodeValue, 400, "The value for one of the XML nodes is not in the correct format.") \
    X(Md5Mismatch, 400, "The MD5 value specified in the request did not match with the MD5 value calculated by the server.") \
    X(MetadataTooLarge, 400, "The size of the request metadata exceeds the maximum size permitted.") \
    X(MissingContentLengthHeader, 411, "Content-Length HTTP header is missing.")                 \
    X(MissingRequiredQueryParameter, 400, "A query parameter that's mandatory for this request is not specified.") \
    X(MultipleConditionHeadersNotSupported, 400, "Multiple condition headers are not supported.") \
    X(OutOfRangeInput, 400, "One of the request inputs is out of range.")                         \
    X(OutOfRangeQueryParameterValue, 400, "One of the query parameters specified in the request URI is outside the permissible range.") \
    X(RequestBodyTooLarge, 413, "The request body is too large and exceeds the maximum permissible limit.") \
    X(ResourceNotFound, 404, "The specified resource does not exist.")                            \
    X(ServerBusy, 503, "The server is currently unable to receive requests. Please retry your request.") \
    X(UnsatisfiableCondition, 400, "The condition specified in the request cannot be satisfied.") \
    X(UnsupportedHttpVerb, 405, "The resource doesn't support the specified HTTP verb.")

enum az_error {
#define AZ_ENUM(code, status, msg) E_##code,
    AZ_ERRORS(AZ_ENUM)
#undef AZ_ENUM
    E__COUNT
};

int az_error_status(enum az_error e);
const char *az_error_code(enum az_error e);
const char *az_error_message(enum az_error e);

#endif
