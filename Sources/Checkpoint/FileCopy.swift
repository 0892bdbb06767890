import Foundation

/// Copies `source` to `destination` as a regular file, following symbolic links. A Hugging Face
/// cache snapshot (`snapshots/<rev>/config.json -> ../../blobs/<sha>`) is made of relative links;
/// `FileManager.copyItem` copies a link as a link, which dangles once it sits in another
/// directory (issue 10 item 6), so the output gets the bytes, never the link.
public func copyResolvingLinks(_ source: URL, to destination: URL) throws {
    let target = source.resolvingSymlinksInPath()
    do {
        try FileManager.default.copyItem(at: target, to: destination)
    } catch {
        throw CheckpointError.fileSystem(error, path: destination.path)
    }
}
