@_exported import Onyx
