import StreamCore
import StreamState
import Testing

/// The namespace reads and removals a firing uses, on both backends: what they return, and that their
/// cost does not grow with what was removed before.
@Suite struct NamespaceStateTests {
    enum Backend: String, CaseIterable { case rocksdb, memory }

    static func open(_ kind: Backend, _ dir: TempDirectory) throws -> any KeyedStateBackend {
        switch kind {
        case .rocksdb:
            try RocksStateBackend(spec: StateSpec(backend: .rocksdb, dir: dir.sub("db"), memoryBytes: 32 << 20))
        case .memory: MemoryStateBackend()
        }
    }

    static func key(_ group: Int, _ namespace: Int64, _ id: Int) -> [UInt8] {
        StateKey.encode(keyGroup: group, key: Array("key-\(id)".utf8), namespace: namespace)
    }

    @Test(arguments: Backend.allCases)
    func namespaceScanReturnsOnlyThatNamespaceOfThatKeyGroup(_ kind: Backend) throws {
        let dir = TempDirectory()
        let backend = try Self.open(kind, dir)
        let table = try backend.table(named: "w")
        var batch = StateWriteBatch()
        for g in [4, 5] {
            for ns: Int64 in [-10, 100, 200] {
                for id in 0..<3 { batch.put(Self.key(g, ns, id), [UInt8(id)]) }
            }
        }
        try table.write(batch)
        var seen: [[UInt8]] = []
        try table.scan(keyGroup: 5, namespaces: 100...100) { k, _ in
            seen.append(k)
            return true
        }
        #expect(seen.sorted { $0.lexicographicallyPrecedes($1) } == (0..<3).map { Self.key(5, 100, $0) })
        var ranged = 0
        try table.scan(keyGroup: 4, namespaces: -10...100) { _, _ in
            ranged += 1
            return true
        }
        #expect(ranged == 6)
        #expect(try table.namespaces(keyGroups: 0..<128) == [-10, 100, 200])
        #expect(try table.namespaces(keyGroups: 6..<128) == [])
        try backend.close()
    }

    @Test(arguments: Backend.allCases)
    func deletingANamespaceRemovesItInOneKeyGroupOnly(_ kind: Backend) throws {
        let dir = TempDirectory()
        let backend = try Self.open(kind, dir)
        let table = try backend.table(named: "w")
        var batch = StateWriteBatch()
        for g in [1, 2] {
            for ns: Int64 in [7, 8] { batch.put(Self.key(g, ns, 0), [1]) }
        }
        try table.write(batch)
        var delete = StateWriteBatch()
        delete.deleteNamespace(7, keyGroup: 1)
        try table.write(delete)
        let values = try table.multiGet([Self.key(1, 7, 0), Self.key(1, 8, 0), Self.key(2, 7, 0)])
        #expect(values == [nil, [1], [1]])
        #expect(try table.namespaces(keyGroups: 1..<2) == [8])
        try backend.close()
    }

    /// 200 namespaces of 500 keys each written and removed one after another, as windows fire: reading the
    /// last one steps over no more entries than reading the first did.
    @Test(arguments: Backend.allCases)
    func readingANamespaceDoesNotWalkRemovedOnes(_ kind: Backend) throws {
        let dir = TempDirectory()
        let backend = try Self.open(kind, dir)
        let table = try backend.table(named: "w")
        var costs: [Int] = []
        for ns: Int64 in 0..<200 {
            var batch = StateWriteBatch()
            for id in 0..<500 { batch.put(Self.key(3, ns, id), [1]) }
            try table.write(batch)
            var returned = 0
            let cost = try table.scan(keyGroup: 3, namespaces: ns...ns) { _, _ in
                returned += 1
                return true
            }
            #expect(returned == 500)
            costs.append(cost)
            var delete = StateWriteBatch()
            delete.deleteNamespace(ns, keyGroup: 3)
            try table.write(delete)
        }
        #expect(costs.first! >= 500 && costs.first! <= 2 * 500 + 2)
        #expect(costs.max()! <= costs.first! + 2)
        #expect(try table.namespaces(keyGroups: 0..<128) == [])
        try backend.close()
    }
}
