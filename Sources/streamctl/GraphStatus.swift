import StreamControl
import StreamPipeline

/// Colours of `graph --status`: by the worst back pressure of a stage's workers.
enum GraphStatus {
    static func decorations(_ status: JobStatus) -> [String: JobGraphDOT.Decoration] {
        var out: [String: JobGraphDOT.Decoration] = [:]
        for stage in status.stages {
            let bp = stage.backPressuredMsPerSecond
            let fill =
                bp >= 500 ? "#ef5350" : (bp >= JobStatus.backPressureThreshold ? "#ffb74d" : "#a5d6a7")
            var note = "busy \(Int(stage.busyMsPerSecond.rounded())) ms/s, back-pressured \(Int(bp.rounded())) ms/s"
            if stage.backPressured { note = "BACK-PRESSURED\n" + note }
            out[stage.id] = JobGraphDOT.Decoration(fill: fill, note: note)
        }
        return out
    }
}
