extension AttentionOps {
    /// One Attention call computing in `S`; see `AttentionOps` for the contract.
    struct Run<S: ComputeReal> {
        let attributes: Attributes
        let g: Geometry
        let queryType: ElementType
        let valueType: ElementType
        let rounding: Rounding
        let softmaxRounding: Rounding
        let query: [S]
        let presentKey: [S]
        let presentValue: [S]
        let bias: Bias<S>

        init(_ inputs: [Value?], _ attributes: Attributes) throws {
            self.attributes = attributes
            let q = try inputs.tensor(0)
            let k = try inputs.tensor(1)
            let v = try inputs.tensor(2)
            let pastKey = try inputs.optionalTensor(4)
            let pastValue = try inputs.optionalTensor(5)
            var past: (Tensor, Tensor)?
            if let pastKey, let pastValue {
                past = (pastKey, pastValue)
            } else if pastKey != nil || pastValue != nil {
                throw OnyxError.invalidModel("past_key and past_value must be given together")
            }
            let t1 = q.elementType
            let t2 = v.elementType
            queryType = t1
            valueType = t2
            rounding = try Rounding(t1)
            _ = try Rounding(t2)
            guard k.elementType == t1, pastKey.map({ $0.elementType == t1 }) ?? true,
                  pastValue.map({ $0.elementType == t2 }) ?? true else {
                throw OnyxError.wrongElementType("K and past_key must have Q's type, past_value V's type")
            }
            softmaxRounding = try attributes.softmaxType.map { try Rounding($0) } ?? rounding
            g = try Geometry(q: q, k: k, v: v, past: past, attributes)
            for size in [g.headSize, g.vHeadSize] {
                _ = try TensorAllocation.checkedBytes(.double, count: try Tensor.checkedCount([g.batch, g.kvHeads, g.kvLength, size]))
            }
            query = try S.load(q)
            presentKey = AttentionOps.present(past: try pastKey.map { try S.load($0) }, new: try S.load(k), g, size: g.headSize)
            presentValue = AttentionOps.present(past: try pastValue.map { try S.load($0) }, new: try S.load(v), g, size: g.vHeadSize)
            bias = try Bias(mask: try inputs.optionalTensor(3), nonpad: try inputs.optionalTensor(6), g, attributes)
        }

        func outputs() throws -> [Value?] {
            let kv = g.kvLength
            let scaleValue = attributes.scale.map { Double($0) } ?? 1 / Double(g.headSize).squareRoot()
            let factor = S.rounding(scaleValue.squareRoot(), rounding)
            let softcap = S.rounding(Double(attributes.softcap), rounding)
            let q = query.map { ($0 * factor).rounded(rounding) }
            let k = presentKey.map { ($0 * factor).rounded(rounding) }
            let qStrides = g.strides(heads: g.qHeads, length: g.qLength, size: g.headSize)
            let yStrides = g.strides(heads: g.qHeads, length: g.qLength, size: g.vHeadSize)
            let mode = attributes.qkMode
            let yCount = try Tensor.checkedCount([g.batch, g.qHeads, g.qLength, g.vHeadSize])
            let qkCount = attributes.wantsQK ? try Tensor.checkedCount([g.batch, g.qHeads, g.qLength, kv]) : 0
            _ = try TensorAllocation.checkedBytes(.double, count: yCount)
            _ = try TensorAllocation.checkedBytes(.double, count: qkCount)
            _ = try TensorAllocation.checkedBytes(.double, count: kv)
            // Rows beyond every element count only arise with empty head sizes and produce nothing.
            let rows = try Tensor.checkedCount([g.batch, g.qHeads, g.qLength])
            let batches = rows > max(query.count, yCount, qkCount) ? 0 : g.batch
            var y = [S](repeating: 0, count: yCount)
            var qk = [S](repeating: 0, count: qkCount)
            var raw = [S](repeating: 0, count: kv)
            var work = [S](repeating: 0, count: kv)
            var biasRow = [S](repeating: 0, count: kv)
            var accumulator = [S](repeating: 0, count: g.vHeadSize)
            raw.withUnsafeMutableBufferPointer { raw in
            work.withUnsafeMutableBufferPointer { work in
            biasRow.withUnsafeMutableBufferPointer { biasRow in
                for b in 0..<batches {
                    for h in 0..<g.qHeads {
                        let kvHead = (b * g.kvHeads + h / g.group) * kv
                        for i in 0..<g.qLength {
                            let qBase = b * qStrides.batch + h * qStrides.head + i * qStrides.position
                            for j in 0..<kv {
                                let kBase = (kvHead + j) * g.headSize
                                var sum: S = 0
                                for d in 0..<g.headSize { sum += q[qBase + d] * k[kBase + d] }
                                raw[j] = sum.rounded(rounding)
                            }
                            for j in 0..<kv {
                                work[j] = softcap > 0
                                    ? (S.attentionTanh((raw[j] / softcap).rounded(rounding)).rounded(rounding) * softcap).rounded(rounding)
                                    : raw[j]
                            }
                            let qkBase = ((b * g.qHeads + h) * g.qLength + i) * kv
                            if attributes.wantsQK, mode < 2 {
                                for j in 0..<kv { qk[qkBase + j] = mode == 0 ? raw[j] : work[j] }
                            }
                            var masked = false
                            if !bias.isZero {
                                bias.fill(biasRow, b: b, h: h, i: i)
                                masked = AttentionSupport.propagatingMax(biasRow) == -S.infinity
                                for j in 0..<kv { work[j] = (work[j] + biasRow[j]).rounded(rounding) }
                            }
                            if attributes.wantsQK, mode == 2 {
                                for j in 0..<kv { qk[qkBase + j] = work[j] }
                            }
                            for j in 0..<kv { work[j] = work[j].rounded(softmaxRounding) }
                            AttentionSupport.softmax(work, rounding: softmaxRounding, guardMasked: true)
                            for j in 0..<kv { work[j] = masked ? 0 : work[j].rounded(rounding) }
                            if attributes.wantsQK, mode == 3 {
                                for j in 0..<kv { qk[qkBase + j] = work[j] }
                            }
                            for d in 0..<g.vHeadSize { accumulator[d] = 0 }
                            for j in 0..<kv {
                                let p = work[j]
                                let vBase = (kvHead + j) * g.vHeadSize
                                for d in 0..<g.vHeadSize { accumulator[d] += p * presentValue[vBase + d] }
                            }
                            let yBase = b * yStrides.batch + h * yStrides.head + i * yStrides.position
                            for d in 0..<g.vHeadSize { y[yBase + d] = accumulator[d].rounded(rounding) }
                        }
                    }
                }
            }
            }
            }
            let yShape = g.threeD ? [g.batch, g.qLength, g.qHeads * g.vHeadSize] : [g.batch, g.qHeads, g.qLength, g.vHeadSize]
            var outputs: [Value?] = [.tensor(try S.store(y, shape: yShape, as: queryType))]
            if attributes.wantsPresent {
                outputs.append(.tensor(try S.store(presentKey, shape: [g.batch, g.kvHeads, kv, g.headSize], as: queryType)))
                outputs.append(.tensor(try S.store(presentValue, shape: [g.batch, g.kvHeads, kv, g.vHeadSize], as: valueType)))
            } else {
                outputs += [nil, nil]
            }
            if attributes.wantsQK {
                outputs.append(.tensor(try S.store(qk, shape: [g.batch, g.qHeads, g.qLength, kv], as: queryType)))
            }
            return outputs
        }
    }
}
