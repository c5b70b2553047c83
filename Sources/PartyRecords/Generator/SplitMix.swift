/// A small deterministic generator (SplitMix64): the same seed gives the same city on every
/// machine and Swift version (the standard library's generators make no such promise).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in 0..<n (Lemire's method, unbiased).
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let t = (0 &- bound) % bound
            while m.low < t { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }
    public mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
    public mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
    /// Picks by weights.
    public mutating func pick<T>(_ a: [(T, Int)]) -> T {
        let total = a.reduce(0) { $0 + $1.1 }
        var r = below(total)
        for (v, w) in a {
            if r < w { return v }
            r -= w
        }
        return a[a.count - 1].0
    }
}
