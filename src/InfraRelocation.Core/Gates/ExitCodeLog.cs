namespace InfraRelocation.Core.Gates;

/// <summary>
/// What a scheduled gate run (-AsExitCode) writes to its log: a per-rule count, the first findings and the summary.
/// A drifting estate can have thousands of findings; a task log needs the shape of the failure, not megabytes of
/// text, so the full list goes to Export-RelocationReport or -Verbose.
/// </summary>
public static class ExitCodeLog
{
    /// <summary>How many findings the log shows before it points to the full report.</summary>
    public const int DefaultFirstFindings = 20;

    /// <param name="findings">Every finding of the run, in gate order.</param>
    /// <param name="summary">The receipt's one-line summary.</param>
    /// <param name="firstFindings">Findings to print in full; null prints all of them (-Verbose).</param>
    public static IReadOnlyList<string> Lines(IReadOnlyList<RelocationFinding> findings, string summary, int? firstFindings = DefaultFirstFindings)
    {
        var lines = new List<string>();
        if (findings.Count > 0)
        {
            // One pass over the findings, in reference types only: a cold process compiles every generic shape over
            // value types (LINQ groupings, tuples) that it meets, while code shared by reference types is precompiled.
            var tally = new Dictionary<string, RuleCount>(StringComparer.Ordinal);
            foreach (var f in findings)
            {
                if (!tally.TryGetValue(f.RuleId, out var count))
                {
                    tally[f.RuleId] = count = new RuleCount(f.RuleId);
                }
                count.Errors += f.Severity == FindingSeverity.Error ? 1 : 0;
                count.Warnings += f.Severity == FindingSeverity.Warning ? 1 : 0;
            }
            var rules = new List<RuleCount>(tally.Values);
            rules.Sort((a, b) => b.Errors != a.Errors ? b.Errors.CompareTo(a.Errors)
                : b.Warnings != a.Warnings ? b.Warnings.CompareTo(a.Warnings)
                : string.CompareOrdinal(a.Rule, b.Rule));
            var width = Math.Max("Rule".Length, rules.Max(r => r.Rule.Length));
            lines.Add($"{"Rule".PadRight(width)}  Errors  Warnings");
            lines.AddRange(rules.Select(r => $"{r.Rule.PadRight(width)}  {r.Errors,6}  {r.Warnings,8}"));
            lines.Add("");

            var shown = firstFindings is { } n ? Math.Min(n, findings.Count) : findings.Count;
            lines.AddRange(findings.Take(shown).Select(f => f.ToString()));
            if (shown < findings.Count)
            {
                lines.Add($"... {findings.Count - shown} more finding(s) not shown: run with -Verbose, or keep them all with " +
                    "Export-RelocationReport (or -KeepReport).");
            }
        }
        lines.Add(summary);
        return lines;
    }

    private sealed class RuleCount(string rule)
    {
        public string Rule { get; } = rule;
        public int Errors { get; set; }
        public int Warnings { get; set; }
    }
}
