import XCTest
@testable import Onyx
final class SmokeTests: XCTestCase { func testNothing() {} }
