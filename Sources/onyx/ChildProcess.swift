import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a child process with posix_spawn and collects its standard output.
/// (Foundation's Process is not safe to start from several threads, and its
/// pipe reading traps on EINTR.) Standard error is discarded.
enum ChildProcess {
    struct Outcome {
        var output: Data
        /// Exit status when it exited normally.
        var exitStatus: Int32?
        /// The signal that ended it, if one did.
        var signal: Int32?
        var timedOut: Bool
    }

    static func run(_ executable: String, _ arguments: [String], timeout: Double) throws -> Outcome {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw OnyxErrorBridge.io("pipe failed: \(String(cString: strerror(errno)))") }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_addclose(&actions, readEnd)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        close(writeEnd)
        guard spawned == 0 else {
            close(readEnd)
            throw OnyxErrorBridge.io("cannot start \(executable): \(String(cString: strerror(spawned)))")
        }
        var output = Data()
        var timedOut = false
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(timeout, 0) * 1e9)
        var chunk = [UInt8](repeating: 0, count: 65536)
        reading: while true {
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= deadline {
                timedOut = true
                kill(pid, SIGKILL)
                break
            }
            var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let waitMs = Int32(min((deadline - now) / 1_000_000 + 1, 1000))
            let ready = poll(&poller, 1, waitMs)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            if ready == 0 { continue }
            while true {
                let count = read(readEnd, &chunk, chunk.count)
                if count > 0 {
                    output.append(contentsOf: chunk[0..<count])
                    break
                }
                if count == 0 { break reading }
                if errno == EINTR { continue }
                break reading
            }
        }
        close(readEnd)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        return Outcome(
            output: output, exitStatus: signal == 0 ? (status >> 8) & 0xff : nil,
            signal: signal == 0 ? nil : signal, timedOut: timedOut)
    }
}

import Onyx
typealias OnyxErrorBridge = OnyxError
