import StreamCore
import Yams

extension SpecReader {
    func readProfiles(_ node: Node, operatorIds: [String]) -> ProfilesSpec? {
        guard let e = checker.mapping(node, "profiles", allowed: ["initial", "files", "overrides", "auto"]) else {
            return nil
        }
        var spec = ProfilesSpec()
        if let n = e["files"], let files = checker.stringList(n, "profiles.files", nonEmpty: false) {
            spec.files = files.map(\.0)
        }
        let known = Array(Set(profileNames + spec.files.map(ProfileLoader.profileName(ofFile:)))).sorted()
        if let n = e["initial"], let name = checker.name(n, "profiles.initial"), checkProfileName(name, n, known) {
            spec.initial = name
        }
        if let n = e["overrides"], let pairs = checker.pairs(n, "profiles.overrides") {
            for (name, keyNode, value) in pairs {
                guard checkProfileName(name, keyNode, known) else { continue }
                guard
                    let knobs = ProfileKnobs.read(
                        value, path: "profiles.overrides.\(name)", checker: checker,
                        allowOff: false)
                else { continue }
                checkOperatorIds(knobs.overrides.operatorParallelism, value, operatorIds)
                spec.overrides[name] = knobs.overrides
                spec.overrideLines[name] = ProfileKnobs.lines(of: value)
            }
        }
        if let n = e["auto"] {
            spec.auto = readAuto(n)
        }
        return spec
    }

    func checkProfileName(_ name: String, _ node: Node, _ known: [String]) -> Bool {
        guard known.contains(name) else {
            checker.report(node, "unknown profile `\(name)`", help: Suggest.help(name, in: known, listing: "profiles"))
            return false
        }
        return true
    }

    func checkOperatorIds(_ parallelism: [String: Int], _ node: Node, _ ids: [String]) {
        guard let map = node.mapping?["operator_parallelism"]?.mapping else { return }
        for (keyNode, _) in map {
            guard let id = keyNode.scalar?.string, parallelism[id] != nil, !ids.contains(id) else { continue }
            checker.report(
                keyNode, "unknown operator id `\(id)` in `operator_parallelism`",
                help: Suggest.help(id, in: ids, listing: "operator ids"))
        }
    }

    func readAuto(_ node: Node) -> AutoSwitchSpec? {
        let keys = ["enabled", "backfill_above_lag", "steady_below_lag", "seasonal_above_rate", "min_dwell"]
        guard let e = checker.mapping(node, "profiles.auto", allowed: keys) else { return nil }
        var spec = AutoSwitchSpec(enabled: true)
        if let n = e["enabled"], let v = checker.bool(n, e.sub("enabled")) { spec.enabled = v }
        if let n = e["backfill_above_lag"], let v = checker.int(n, e.sub("backfill_above_lag"), min: 1) {
            spec.backfillAboveLag = Int64(v)
        }
        if let n = e["steady_below_lag"], let v = checker.int(n, e.sub("steady_below_lag"), min: 0) {
            spec.steadyBelowLag = Int64(v)
        }
        if let n = e["seasonal_above_rate"], let v = checker.int(n, e.sub("seasonal_above_rate"), min: 1) {
            spec.seasonalAboveRate = Int64(v)
        }
        if let n = e["min_dwell"], let v = checker.duration(n, e.sub("min_dwell")) { spec.minDwellMs = v }
        if spec.steadyBelowLag >= spec.backfillAboveLag {
            checker.report(
                e["steady_below_lag"] ?? node,
                "`profiles.auto.steady_below_lag` (\(spec.steadyBelowLag)) "
                    + "must be below `backfill_above_lag` (\(spec.backfillAboveLag))",
                help: "the gap between the two keeps the job from switching back and forth")
        }
        return spec
    }
}
