import Foundation
import StreamCore
import Yams

/// Finds and reads workload profiles: `NAME.yaml` files, the built-in defaults, and a pipeline's overrides.
public enum ProfileLoader {
    /// Where profiles are looked for when a pipeline file is loaded: `profiles/` beside the file, beside its
    /// directory, and in the current directory.
    public static func defaultSearchDirectories(pipelineFile: String) -> [String] {
        let dir = (pipelineFile as NSString).deletingLastPathComponent
        let base = dir.isEmpty ? "." : dir
        var result: [String] = []
        for d in ["\(base)/profiles", "\(base)/../profiles", "profiles"].map(shortSpelling) where !result.contains(d) {
            result.append(d)
        }
        return result
    }

    /// The path without `.` and `dir/..` steps (`examples/../profiles` → `profiles`), as `profiles show` names
    /// it, when that names the same directory (a symlinked `dir` makes `dir/..` lead elsewhere: then as given).
    static func shortSpelling(_ path: String) -> String {
        let short = lexicallyNormal(path)
        guard short != path, FileManager.default.fileExists(atPath: path) else { return short }
        let real = { (p: String) in URL(fileURLWithPath: p).resolvingSymlinksInPath().standardizedFileURL.path }
        return real(short) == real(path) ? short : path
    }

    /// Removes `.` and `dir/..` steps without looking at the disk.
    static func lexicallyNormal(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for c in path.split(separator: "/") where c != "." {
            if c == "..", let last = parts.last, last != ".." {
                parts.removeLast()
            } else if c == "..", absolute {
                continue
            } else {
                parts.append(c)
            }
        }
        let joined = parts.joined(separator: "/")
        return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    /// `profiles/backfill.yaml` → `backfill`.
    public static func profileName(ofFile path: String) -> String {
        let last = (path as NSString).lastPathComponent
        return (last as NSString).deletingPathExtension
    }

    /// The built-in names and every `*.yaml`/`*.yml` file's name in `searchDirectories`, sorted.
    public static func availableNames(searchDirectories: [String]) -> [String] {
        var names = Set(Profile.builtIn.keys)
        for dir in searchDirectories {
            guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for f in files where f.hasSuffix(".yaml") || f.hasSuffix(".yml") { names.insert(profileName(ofFile: f)) }
        }
        return names.sorted()
    }

    /// The profile `name` for `spec`: the pipeline's `profiles.files` first, then `NAME.yaml` in
    /// `searchDirectories`, then `Profile.builtIn`; with `profiles.overrides.NAME` applied on top.
    public static func resolve(name: String, spec: PipelineSpec, searchDirectories: [String])
        throws(PipelineErrors) -> Profile
    {
        var profile: Profile
        if let path = profileFile(
            name: name, files: spec.profiles.files, pipelineFile: spec.file, searchDirectories: searchDirectories)
        {
            profile = try load(path: path)
        } else if let builtIn = Profile.builtIn[name] {
            profile = builtIn
        } else {
            let known = Array(
                Set(
                    availableNames(searchDirectories: searchDirectories)
                        + spec.profiles.files.map(profileName(ofFile:)))
            ).sorted()
            throw PipelineErrors([
                PipelineError(
                    file: spec.file, line: 0, column: 0, message: "unknown profile `\(name)`",
                    help: Suggest.help(name, in: known, listing: "profiles"))
            ])
        }
        if let overrides = spec.profiles.overrides[name] { profile = profile.applying(overrides) }
        return profile
    }

    /// Like `resolve`, and records where every knob came from; `settings` (`--set`) go on top of everything.
    public static func resolveSourced(
        name: String, spec: PipelineSpec, searchDirectories: [String], settings: KnobSettings = KnobSettings()
    ) throws(PipelineErrors) -> SourcedProfile {
        var profile = try resolve(name: name, spec: spec, searchDirectories: searchDirectories)
        var sources: [String: KnobSource] = [:]
        if let path = profileFile(
            name: name, files: spec.profiles.files, pipelineFile: spec.file, searchDirectories: searchDirectories)
        {
            for (knob, line) in fileLines(path: path) { sources[knob] = .profileFile(path: path, line: line) }
        }
        if let overrides = spec.profiles.overrides[name] {
            let lines = spec.profiles.overrideLines[name] ?? [:]
            for knob in overrides.setKnobs { sources[knob] = .pipeline(file: spec.file, line: lines[knob] ?? 0) }
        }
        let ids = ["source", "sink"] + spec.operators.map(\.id)
        let unknown = settings.knobs.overrides.operatorParallelism.keys.filter { !ids.contains($0) }.sorted()
        if !unknown.isEmpty {
            throw PipelineErrors(
                unknown.map { id in
                    PipelineError(
                        file: "--set operator_parallelism.\(id)", line: 0, column: 0,
                        message: "unknown operator id `\(id)` in `\(spec.file)`",
                        help: Suggest.help(id, in: ids, listing: "operator ids"))
                })
        }
        profile = settings.apply(to: profile)
        for knob in settings.setKnobs { sources[knob] = .commandLine }
        return SourcedProfile(profile: profile, sources: sources)
    }

    /// The line of each knob a profile file sets; empty when it cannot be read (its errors come from `load`).
    static func fileLines(path: String) -> [String: Int] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let root = try? Yams.compose(yaml: text)
        else { return [:] }
        return ProfileKnobs.lines(of: root)
    }

    /// The file that defines profile `name`: one of the pipeline's `profiles.files` (relative to the pipeline
    /// file), else `NAME.yaml`/`NAME.yml` in `searchDirectories`; nil for a built-in or unknown name.
    static func profileFile(name: String, files: [String], pipelineFile: String, searchDirectories: [String])
        -> String?
    {
        let pipelineDir = (pipelineFile as NSString).deletingLastPathComponent
        var candidates: [String] = []
        for file in files where profileName(ofFile: file) == name {
            candidates.append(file.hasPrefix("/") || pipelineDir.isEmpty ? file : "\(pipelineDir)/\(file)")
        }
        for dir in searchDirectories {
            candidates.append("\(dir)/\(name).yaml")
            candidates.append("\(dir)/\(name).yml")
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Reads one profile file; its name is the file's name. Knobs it leaves out keep the built-in value of the
    /// same-named profile, or the defaults of `Profile`.
    public static func load(path: String) throws(PipelineErrors) -> Profile {
        let text = try readText(path, kind: "profile")
        return try load(yaml: text, file: path)
    }

    /// Reads profile YAML text; `file` names it in messages and gives the profile its name.
    public static func load(yaml: String, file: String) throws(PipelineErrors) -> Profile {
        let name = profileName(ofFile: file)
        let base = Profile.builtIn[name] ?? Profile(name: name)
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw PipelineErrors([PipelineLoader.yamlError(error, file: file)])
        } catch {
            throw PipelineErrors([PipelineError(file: file, line: 0, column: 0, message: "invalid YAML: \(error)")])
        }
        let checker = Checker(file: file, text: yaml)
        guard let root, !checker.isNull(root) else { return base }
        let knobs = ProfileKnobs.read(root, path: "", checker: checker, allowOff: true)
        guard let knobs, checker.errors.isEmpty else { throw PipelineErrors(checker.sortedErrors) }
        return knobs.apply(to: base)
    }
}
