/*
 * errors.h -- the one vocabulary of Azure errors: each entry is (code, HTTP status, message).
 * Handlers name an error by its code (api_fail(q, E_BlobNotFound)); the status, the
 * x-ms-error-code header and the XML body all come from this table, so they cannot disagree.
 */
#ifndef COBALT_API_ERRORS_H
#define COBALT_API_ERRORS_H

/* clang-format off */
#define AZ_ERRORS(X)                                                                              \
    X(AccessTierNotSupportedForBlobType, 400, "The access tier is not supported for this blob type.") \
    X(AllBatchSubRequestsShouldBeSameApi, 400, "All batch sub-requests should be the same API.") \
    X(AppendPositionConditionNotMet, 412, "The append position condition specified was not met.") \
    X(BlobArchived, 409, "This operation is not permitted on an archived blob.")               \
    X(BlobBeingRehydrated, 409, "This operation is not permitted because the blob is being rehydrated.") \
    X(BlobImmutableDueToLegalHold, 409, "This operation is not permitted as the blob is immutable due to a legal hold.") \
    X(BlobImmutableDueToPolicy, 409, "This operation is not permitted as the blob is immutable due to a policy.") \
    X(BlobIsSealed, 409, "The blob is sealed: no further blocks can be appended.")             \
    X(BlobNotArchived, 409, "Blob is not in the archive tier.")                                \
    X(CannotVerifyCopySource, 404, "Could not verify the copy source within the specified time.") \
    X(ContainerImmutabilityPolicyLocked, 409, "This operation is not permitted because the immutability policy of the container is locked.") \
    X(CopyAcrossAccountsNotSupported, 400, "The copy source account and destination account must be the same.") \
    X(CopyIdMismatch, 409, "The specified copy ID did not match the copy ID for the pending copy operation.") \
    X(DuplicateTagNames, 400, "The tags specified contain duplicate names.")                   \
    X(ExceedsMaxBatchRequestCount, 400, "The batch operation exceeds maximum number of allowed subrequests.") \
    X(FeatureVersionMismatch, 409, "The operation is not supported with this x-ms-version.")   \
    X(ImmutabilityPolicyLocked, 409, "The immutability policy is locked and cannot be shortened or removed.") \
    X(IncrementalCopyBlobMismatch, 409, "The specified source blob is different than the copy source of the existing incremental copy blob.") \
    X(IncrementalCopyOfEarlierVersionSnapshotNotAllowed, 409, "The specified snapshot is earlier than the last snapshot copied into the incremental copy blob.") \
    X(IncrementalCopySourceMustBeSnapshot, 409, "The source for incremental copy request must be a snapshot.") \
    X(InvalidBlobTier, 400, "The specified blob tier is invalid.")                             \
    X(InvalidInput, 400, "One of the request inputs is not valid.")                            \
    X(InvalidOperation, 400, "Invalid operation against a blob snapshot.")                     \
    X(InvalidSourceBlobType, 409, "The copy source blob type is invalid for this operation.")  \
    X(InvalidSourceBlobUrl, 409, "The source URL for the copy operation is invalid.")          \
    X(InvalidTag, 400, "The tags specified are invalid. It contains characters that are not permitted.") \
    X(MaxBlobSizeConditionNotMet, 412, "The max blob size condition specified was not met.")   \
    X(LeaseAlreadyPresent, 409, "There is already a lease present.")                           \
    X(LeaseIdMismatchWithBlobOperation, 412, "The lease ID specified did not match the lease ID for the blob.") \
    X(LeaseIdMismatchWithContainerOperation, 412, "The lease ID specified did not match the lease ID for the container.") \
    X(LeaseIdMismatchWithLeaseOperation, 409, "The lease ID specified did not match the lease ID for the blob/container.") \
    X(LeaseIdMissing, 412, "There is currently a lease on the blob/container and no lease ID was specified in the request.") \
    X(LeaseIsBreakingAndCannotBeAcquired, 409, "The lease ID matched, but the lease is currently in breaking state and cannot be acquired until it is broken.") \
    X(LeaseIsBreakingAndCannotBeChanged, 409, "The lease ID matched, but the lease is currently in breaking state and cannot be changed.") \
    X(LeaseIsBrokenAndCannotBeRenewed, 409, "The lease ID matched, but the lease has been broken explicitly and cannot be renewed.") \
    X(LeaseLost, 412, "A lease ID was specified, but the lease for the blob/container has expired.") \
    X(LeaseNotPresentWithBlobOperation, 412, "There is currently no lease on the blob.")       \
    X(LeaseNotPresentWithContainerOperation, 412, "There is currently no lease on the container.") \
    X(LeaseNotPresentWithLeaseOperation, 409, "There is currently no lease on the blob/container.") \
    X(MissingRequiredHeader, 400, "An HTTP header that's mandatory for this request is not specified.") \
    X(NoPendingCopyOperation, 409, "There is currently no pending copy operation.")            \
    X(OperationNotAllowedOnIncrementalCopyBlob, 409, "The specified operation is not allowed on an incremental copy blob.") \
    X(PendingCopyOperation, 409, "There is currently a pending copy operation.")               \
    X(SnapshotsPresent, 409, "This operation is not permitted because the blob has snapshots.") \
    X(SourceConditionNotMet, 412, "The source condition specified using HTTP conditional header(s) is not met.") \
    X(TagsTooLarge, 400, "The tags specified exceed the maximum permissible limit.")           \
    X(UnauthorizedBlobOverwrite, 403, "This request is not authorized to perform blob overwrites.") \
    X(PermanentDeleteNotEnabled, 409, "Permanent delete is not enabled for this account (AllowPermanentDelete).") \
    X(CorsPreflightFailure, 403, "CORS not enabled or no matching rule found for this request.") \
    X(ContainerHasLegalHold, 409, "This operation is not permitted because the container has a legal hold.") \
    X(ContainerBeingDeleted, 409, "The specified container is being deleted.")                 \
    X(UnsupportedHeader, 400, "One of the headers specified in the request is not supported.") \
    X(AuthenticationFailed, 403, "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.") \
    X(AuthorizationFailure, 403, "This request is not authorized to perform this operation.")    \
    X(AuthorizationPermissionMismatch, 403, "This request is not authorized to perform this operation using this permission.") \
    X(InsufficientAccountPermissions, 403, "Write operations are not allowed.")                 \
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
    X(InvalidPageRange, 416, "The page range specified is invalid.")                            \
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
    X(PreviousSnapshotCannotBeNewer, 400, "The prevsnapshot query parameter value cannot be newer than snapshot query parameter value.") \
    X(PreviousSnapshotNotFound, 409, "The previous snapshot is not found.")                   \
    X(SequenceNumberConditionNotMet, 412, "The sequence number condition specified was not met.") \
    X(SequenceNumberIncrementTooLarge, 409, "The sequence number increment cannot be performed because it would result in overflow of the sequence number.") \
    X(RequestBodyTooLarge, 413, "The request body is too large and exceeds the maximum permissible limit.") \
    X(ResourceNotFound, 404, "The specified resource does not exist.")                            \
    X(ServerBusy, 503, "The server is currently unable to receive requests. Please retry your request.") \
    X(UnsatisfiableCondition, 400, "The condition specified in the request cannot be satisfied.") \
    X(ErrorProcessingQueryExpression, 400, "Error parsing query expression.")                \
    X(UnsupportedHttpVerb, 405, "The resource doesn't support the specified HTTP verb.")
/* clang-format on */

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
