import Foundation

/// Foundation's file errors as a plain cause ("no such file or directory"), not the
/// `Error Domain=NSCocoaErrorDomain Code=260 "…" UserInfo={…}` dump or the "The operation could
/// not be completed" sentence swift-corelibs-foundation gives on Linux (issue 10 item 5). The
/// caller puts the path in front, so the message reads `<path>: cannot read: <cause>`.
public func fileErrorCause(_ error: any Error) -> String {
    /// strerror's text with a lower-case first letter, to read as the middle of a sentence.
    func strerror(_ code: Int32) -> String {
        let text = String(cString: Foundation.strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
    if let input = error as? InputFileError { return input.cause }
    let ns = error as NSError
    if ns.domain == NSPOSIXErrorDomain { return strerror(Int32(ns.code)) }
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return strerror(Int32(underlying.code))
    }
    if ns.domain == NSCocoaErrorDomain {
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file or directory"
        case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
        case .fileWriteOutOfSpace: return "no space left on device"
        case .fileWriteFileExists: return "file exists"
        case .fileWriteVolumeReadOnly: return "read-only file system"
        case .fileReadTooLarge: return "file too large"
        case .fileReadInapplicableStringEncoding, .fileReadUnknownStringEncoding, .fileWriteInapplicableStringEncoding:
            return "not text in the expected encoding (UTF-8)"
        case .fileReadCorruptFile: return "file is corrupt or not in the expected format"
        case .fileLocking: return "file is locked"
        case .fileReadInvalidFileName, .fileWriteInvalidFileName: return "invalid file name"
        default:
            // fileReadUnknown and friends: ask the file system what is wrong with the path.
            if let path = ns.userInfo[NSFilePathErrorKey] as? String {
                var info = stat()
                if stat(path, &info) != 0 { return strerror(errno) }
                if info.st_mode & S_IFMT == S_IFDIR { return "is a directory" }
            }
            return "file error \(ns.code)"
        }
    }
    if let localized = (error as? LocalizedError)?.errorDescription { return printableLine(localized) }
    return printableLine("\(ns.domain) error \(ns.code)")
}

/// Why a JSON document was rejected, as one line: the parser's own debug text ("Unexpected
/// character 'x' around line 1, column 3") when Foundation gives one, else the plain cause.
public func jsonErrorReason(_ error: any Error) -> String {
    if let decoding = error as? DecodingError {
        switch decoding {
        case let .dataCorrupted(context):
            if let underlying = context.underlyingError { return jsonErrorReason(underlying) }
            return printableLine(context.debugDescription)
        case let .typeMismatch(_, context), let .valueNotFound(_, context): return printableLine(context.debugDescription)
        case let .keyNotFound(key, _): return printableLine("missing '\(key.stringValue)'")
        @unknown default: return "invalid JSON"
        }
    }
    let ns = error as NSError
    if let debug = ns.userInfo["NSDebugDescription"] as? String, !debug.isEmpty { return printableLine(debug) }
    if ns.domain == NSCocoaErrorDomain && ns.code == CocoaError.Code.propertyListReadCorrupt.rawValue { return "not valid JSON" }
    return fileErrorCause(error)
}
