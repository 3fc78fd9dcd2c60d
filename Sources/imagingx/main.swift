import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

// Exit codes: ArgumentParser's usage errors (64) become 2, as the README documents.
do {
    var command = try ImagingXCommand.parseAsRoot()
    try command.run()
} catch {
    let code = ImagingXCommand.exitCode(for: error)
    if code == .success {
        ImagingXCommand.exit(withError: error)
    }
    if code == .validationFailure {
        let message = ImagingXCommand.fullMessage(for: error)
        writeStderr(message + "\n")
        exit(2)
    }
    ImagingXCommand.exit(withError: error)
}
