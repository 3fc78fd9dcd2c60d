import ArgumentParser
import ImagingX

// The one place the application's errors become what the CLI prints and its exit status:
// 1 for input and output failures, 2 for usage errors (a ValidationError, which main.swift prints
// with the usage line). An error wrapping a decoder's or exporter's error rethrows it, so
// ArgumentParser prints it as "Error: …" with status 1.

/// Prints "imagingx: MESSAGE" on standard error and returns the exit status to throw.
func fail(_ message: CustomStringConvertible, status: Int32) -> ExitCode {
    writeStderr("imagingx: \(message)\n")
    return ExitCode(status)
}

extension CatalogStoreError {
    var cliError: any Error {
        switch self {
        case .unreadable, .unwritable: fail(self, status: 1)
        case .undecodable(_, let underlying), .unencodable(let underlying): underlying
        }
    }
}

extension CatalogAttachmentError {
    var cliError: any Error {
        switch self {
        case .store(let e): e.cliError
        case .malformed: ValidationError(description)
        case .name: fail(self, status: 2)
        }
    }
}

extension FingerprintError {
    var cliError: any Error {
        switch self {
        case .noInput: ValidationError(description)
        case .unreadableCaseFile, .duplicateCase, .folderCaseInCaseFile: fail(self, status: 1)
        case .undecodableCaseFile(_, let underlying): underlying
        }
    }
}

extension CompatError {
    var cliError: any Error {
        switch self {
        case .tooFewDatasets, .duplicateDataset: ValidationError(description)
        case .undecodableFingerprint(_, let underlying): underlying
        }
    }
}

extension PlanError {
    var cliError: any Error {
        switch self {
        case .invalidTarget, .mixedDimensionality: ValidationError(description)
        case .export(_, let underlying): underlying
        }
    }
}

extension CatalogImportError {
    var cliError: any Error {
        switch self {
        // As before: a failed pipe() (no descriptors left) exits 1 without a message.
        case .fetch(_, .pipe): ExitCode(1)
        case .unreadableSource, .fetch, .notASurvey: fail(self, status: 1)
        case .store(let e): e.cliError
        }
    }
}

extension CatalogSearchError {
    var cliError: any Error {
        switch self {
        case .store(let e): e.cliError
        case .invalidTerm: fail(self, status: 2)
        }
    }
}

extension ProfileError {
    var cliError: any Error {
        switch self {
        case .store(let e): e.cliError
        case .name: fail(self, status: 2)
        }
    }
}
