public import SessionVaultKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Answers the `serve` protocol (docs/AGENT.md) for one open vault: requests on one descriptor,
/// answers on another, one at a time, until end of input, a `close` or `delete`, or a termination
/// signal. Every request and answer line lives in guarded memory and is zeroed once handled.
public struct AgentServer: ~Copyable {
    /// The protocol version this agent speaks.
    public static let protocolVersion: Int64 = 1
    /// The longest request line accepted (the stream cannot be resynchronised after a longer one).
    public static let maximumLineByteCount = 16 << 20

    /// Why ``run()`` returned.
    public enum Ending: Sendable, Equatable {
        /// The client closed its end (or died). The vault is still open: the caller closes it.
        case endOfInput
        /// A termination signal (or the parent's death) arrived. The vault is still open.
        case terminated
        /// The client sent `close`; the vault is closed.
        case closed
        /// The client sent `delete`; the vault is deleted.
        case deleted
        /// A request line was longer than ``maximumLineByteCount``; it was answered with
        /// `invalid-argument`. The vault is still open.
        case oversizedRequest
        /// Standard output is gone (the client closed it). The vault is still open.
        case outputClosed
    }

    private let vault: SessionVault
    private let location: String
    private let exitStatus: @Sendable (VaultError.Code) -> Int32
    private let input: Int32
    private let output: Int32
    private let termination: Int32
    private let notices: AgentNotices?
    private var inputBuffer: GuardedByteBuffer
    private var answerBuffer: GuardedByteBuffer

    /// Prepares to serve `vault`.
    /// - Parameters:
    ///   - location: The printable location (never a password), for `ready` and `hello`.
    ///   - exitStatus: The documented exit status of each error code (carried in error answers).
    ///   - input: The descriptor requests arrive on (standard input).
    ///   - output: The descriptor answers go to (standard output).
    ///   - termination: A descriptor that becomes readable when the agent must stop (see
    ///     ``AgentProcess/installTerminationSignals()``), or -1 for none.
    ///   - notices: News to forward to the client as events (a lost lease), or nil.
    public init(
        vault: SessionVault,
        location: String,
        exitStatus: @escaping @Sendable (VaultError.Code) -> Int32,
        input: Int32 = 0,
        output: Int32 = 1,
        termination: Int32 = -1,
        notices: AgentNotices? = nil
    ) throws(VaultError) {
        let inputBuffer = try GuardedByteBuffer(capacity: 64 << 10, limit: Self.maximumLineByteCount + (64 << 10))
        let answerBuffer = try GuardedByteBuffer(capacity: 64 << 10, limit: 1 << 30)
        self.vault = vault
        self.location = location
        self.exitStatus = exitStatus
        self.input = input
        self.output = output
        self.termination = termination
        self.notices = notices
        self.inputBuffer = inputBuffer
        self.answerBuffer = answerBuffer
    }

    /// Writes the `failed` event for a vault that could not be opened (docs/AGENT.md §2.3).
    public static func reportOpenFailure(_ error: VaultError, exitStatus: Int32, output: Int32 = 1) {
        guard var buffer = try? GuardedByteBuffer(capacity: 1024, limit: 1 << 20) else { return }
        let event = JSONOutput.object([("event", .string("failed")), ("error", AgentModelCoding.output(error, exitStatus: exitStatus))])
        guard (try? event.write(into: &buffer)) != nil, (try? buffer.append(byte: 10)) != nil else { return }
        _ = buffer.withUnsafeBytes { writeFully(output, $0) }
    }

    /// Sends `ready`, then answers requests until the session ends.
    public mutating func run() async throws(VaultError) -> Ending {
        let identity = try await identity()
        guard try send(.object([("event", .string("ready"))] + identity)) else { return .outputClosed }
        var scanned = 0  // bytes of the buffer already known to hold no newline
        while true {
            while let newline = inputBuffer.withUnsafeBytes({ raw in raw[scanned...].firstIndex(of: 10) }) {
                if newline > Self.maximumLineByteCount { return try refuseOversizedLine() }
                if let ending = try await handleLine(length: newline) { return ending }
                inputBuffer.removeFirst(newline + 1)
                guard try sendNotices() else { return .outputClosed }
                scanned = 0
                if terminationRequested() { return .terminated }
            }
            scanned = inputBuffer.count
            if inputBuffer.count > Self.maximumLineByteCount { return try refuseOversizedLine() }
            switch try waitForInput() {
            case .data: continue
            case .notice:
                guard try sendNotices() else { return .outputClosed }
                continue
            case .terminated: return .terminated
            case .endOfInput:
                // A last line without its newline is still a request.
                if inputBuffer.count > 0, let ending = try await handleLine(length: inputBuffer.count) { return ending }
                inputBuffer.removeAll()
                return .endOfInput
            }
        }
    }

    /// Answers a line longer than the limit and ends the session (the stream cannot be resynchronised).
    private mutating func refuseOversizedLine() throws(VaultError) -> Ending {
        inputBuffer.removeAll()
        let error = VaultError(.invalidArgument, "a request line is longer than \(Self.maximumLineByteCount >> 20) MiB; ending the session")
        _ = try send(answer(id: nil, error))
        return .oversizedRequest
    }

    // MARK: - Requests

    /// Decodes, performs and answers the first `length` bytes of the input buffer. Returns an ending
    /// when the session is over.
    private mutating func handleLine(length: Int) async throws(VaultError) -> Ending? {
        let decoded = inputBuffer.withUnsafeBytes { raw -> Result<AgentRequest, AgentRequest.Failure>? in
            let line = UnsafeRawBufferPointer(rebasing: raw[0..<length])
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return nil }  // empty line
            return AgentRequest.decode(line)
        }
        guard let decoded else { return nil }
        let request: AgentRequest
        switch decoded {
        case .success(let value): request = value
        case .failure(let failure):
            return try send(answer(id: failure.id, failure.error)) ? nil : .outputClosed
        }
        let result: JSONOutput
        var ending: Ending?
        do throws(VaultError) {
            (result, ending) = try await perform(request.operation)
        } catch {
            return try send(answer(id: request.id, error)) ? nil : .outputClosed
        }
        let sent = try send(.object([("id", .integer(request.id)), ("ok", .bool(true)), ("result", result)]))
        return ending ?? (sent ? nil : .outputClosed)
    }

    private func perform(_ operation: AgentRequest.Operation) async throws(VaultError) -> (JSONOutput, Ending?) {
        switch operation {
        case .hello(let version, _):
            guard version == Self.protocolVersion else {
                throw VaultError(.invalidArgument, "this agent speaks protocol \(Self.protocolVersion), not \(version)")
            }
            return (.object(try await identity() + [("ops", .array(AgentRequest.operationNames.map(JSONOutput.string)))]), nil)
        case .load:
            let session = try await vault.load()
            return (.object([("session", .optional(session, AgentModelCoding.output)), ("peer_count", .integer(Int64(await vault.peerCount)))]), nil)
        case .save(let session):
            try await vault.save(session)
            return (.object([]), nil)
        case .write(let batch):
            try await vault.write(batch)
            return (.object([]), nil)
        case .peer(let query):
            let peer: Peer?
            switch query {
            case .id(let id): peer = try await vault.peer(id: id)
            case .username(let username): peer = try await vault.peer(username: username)
            case .phone(let phone): peer = try await vault.peer(phoneNumber: phone)
            }
            return (.object([("peer", .optional(peer, AgentModelCoding.output))]), nil)
        case .peers:
            return (.object([("peers", .array(try await vault.allPeers().map(AgentModelCoding.output)))]), nil)
        case .close:
            try await vault.close()
            return (.object([]), .closed)
        case .delete:
            try await vault.delete()
            return (.object([]), .deleted)
        }
    }

    private func identity() async throws(VaultError) -> [(String, JSONOutput)] {
        [
            ("protocol", .integer(Self.protocolVersion)),
            ("agent", .string("session-vault \(SessionVaultInfo.version)")),
            ("pid", .integer(Int64(getpid()))),
            ("storage", .string(vault.storageKind.description)),
            ("location", .string(location)),
            ("format_version", .integer(Int64(await vault.formatVersion))),
        ]
    }

    private func answer(id: Int64?, _ error: VaultError) -> JSONOutput {
        .object([
            ("id", .optional(id, JSONOutput.integer)), ("ok", .bool(false)),
            ("error", AgentModelCoding.output(error, exitStatus: exitStatus(error.code))),
        ])
    }

    // MARK: - I/O

    /// Writes one line; false when the output is closed.
    private mutating func send(_ message: JSONOutput) throws(VaultError) -> Bool {
        defer { answerBuffer.removeAll() }
        try message.write(into: &answerBuffer)
        try answerBuffer.append(byte: 10)
        let output = self.output
        return answerBuffer.withUnsafeBytes { Self.writeFully(output, $0) }
    }

    private static func writeFully(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        (try? FileDescriptorIO.write(bytes, to: descriptor, failure: "cannot write answers")) != nil
    }

    private enum InputEvent {
        case data
        case endOfInput
        case terminated
        case notice
    }

    /// Writes an event line for every posted notice (`lease-lost`); false when the output is closed.
    private mutating func sendNotices() throws(VaultError) -> Bool {
        guard let notices else { return true }
        for error in notices.take() {
            let event = JSONOutput.object([("event", .string("lease-lost")), ("error", AgentModelCoding.output(error, exitStatus: exitStatus(error.code)))])
            guard try send(event) else { return false }
        }
        return true
    }

    /// Blocks until request bytes, end of input, or a termination signal arrive.
    private mutating func waitForInput() throws(VaultError) -> InputEvent {
        while true {
            var descriptors = [
                pollfd(fd: input, events: Int16(POLLIN), revents: 0),
                pollfd(fd: termination, events: Int16(POLLIN), revents: 0),  // poll ignores -1
                pollfd(fd: notices?.readEnd ?? -1, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&descriptors, nfds_t(descriptors.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                throw VaultError(.io, "cannot wait for requests (poll failed)", errno: errno)
            }
            if descriptors[1].revents != 0 { return .terminated }
            if descriptors[2].revents != 0 { return .notice }
            guard descriptors[0].revents != 0 else { continue }
            let input = self.input
            let count = try inputBuffer.appendInPlace(maximum: 64 << 10) { raw in read(input, raw.baseAddress, raw.count) }
            if count > 0 { return .data }
            if count == 0 { return .endOfInput }
            if errno == EINTR || errno == EAGAIN { continue }
            throw VaultError(.io, "cannot read requests from standard input", errno: errno)
        }
    }

    /// Whether a termination signal is pending (checked between pipelined requests).
    private func terminationRequested() -> Bool {
        guard termination >= 0 else { return false }
        var descriptor = pollfd(fd: termination, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) > 0
    }
}
