import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory mapping of a whole file, unmapped on deinit.
/// Tensors that borrow bytes from it keep it alive.
final class MappedFile: @unchecked Sendable {
    let path: String
    let baseAddress: UnsafeMutableRawPointer?
    let size: Int

    /// Maps `path`; an empty file maps to a nil base address.
    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw OnyxError.io("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw OnyxError.io("cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw OnyxError.io("\(path) is not a regular file")
        }
        let size = Int(info.st_size)
        self.size = size
        guard size > 0 else {
            self.baseAddress = nil
            return
        }
        let pointer = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let pointer, pointer != MAP_FAILED else {
            throw OnyxError.io("cannot map \(path): \(String(cString: strerror(errno)))")
        }
        self.baseAddress = pointer
    }

    deinit {
        if let baseAddress { munmap(baseAddress, size) }
    }

    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: baseAddress, count: size)
    }
}
