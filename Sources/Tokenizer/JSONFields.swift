import Diagnostics
import Foundation

/// A JSON object from `JSONSerialization` with the file name and key path kept, so that every
/// type or presence error names `tokenizer.json: pre_tokenizer.pretokenizers[1].type`. `null`
/// counts as absent, as in HF's serde structs.
struct JSONFields {
    let values: [String: Any]
    let file: String
    let path: String

    static func parse(_ data: Data, file: String) throws -> JSONFields {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw TokenizerError.invalidJSON(file: file, reason: jsonErrorReason(error))
        }
        guard let values = object as? [String: Any] else {
            throw TokenizerError.invalidJSON(file: file, reason: "top level is not an object")
        }
        return JSONFields(values: values, file: file, path: "")
    }

    func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func optional<T>(_ key: String, _ type: T.Type = T.self) throws -> T? {
        guard let raw = values[key], !(raw is NSNull) else { return nil }
        guard let value = raw as? T else {
            throw TokenizerError.invalidField(file: file, field: fieldPath(key), reason: "expected \(T.self)")
        }
        return value
    }

    func required<T>(_ key: String, _ type: T.Type = T.self) throws -> T {
        guard let value = try optional(key, T.self) else {
            throw TokenizerError.missingField(file: file, field: fieldPath(key))
        }
        return value
    }

    func object(_ key: String) throws -> JSONFields? {
        guard let values = try optional(key, [String: Any].self) else { return nil }
        return JSONFields(values: values, file: file, path: fieldPath(key))
    }

    func objects(_ key: String) throws -> [JSONFields] {
        let list = try required(key, [Any].self)
        return try list.enumerated().map { index, item in
            guard let values = item as? [String: Any] else {
                throw TokenizerError.invalidField(file: file, field: "\(fieldPath(key))[\(index)]", reason: "expected an object")
            }
            return JSONFields(values: values, file: file, path: "\(fieldPath(key))[\(index)]")
        }
    }

    func type() throws -> String { try required("type", String.self) }

    func unsupported(_ type: String) -> TokenizerError {
        .unsupportedComponent(file: file, field: path, type: type)
    }

    func invalid(_ key: String, _ reason: String) -> TokenizerError {
        .invalidField(file: file, field: fieldPath(key), reason: reason)
    }
}

/// A token named in a config either as a string or as `{"content": …}` (AddedToken form).
func tokenContent(_ raw: Any?) -> String? {
    if let s = raw as? String { return s }
    if let d = raw as? [String: Any] { return d["content"] as? String }
    return nil
}
