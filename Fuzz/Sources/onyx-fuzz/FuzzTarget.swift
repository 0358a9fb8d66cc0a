import OnyxTesting

/// libFuzzer's entry point: one serialized model per call (see ``FuzzHarness``).
/// libFuzzer supplies `main`; the module is built with `-parse-as-library`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzHarness.step(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}
