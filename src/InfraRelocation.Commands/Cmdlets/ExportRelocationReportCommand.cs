using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Reports;
using InfraRelocation.Remote;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Export-RelocationReport: writes what the read-only capabilities produce (gate receipts, results and findings;
/// impact items; rollback steps; preflight and readiness receipts and checks) as JSON, SARIF, JUnit, Markdown or
/// a self-contained HTML page. Anything else is refused with an error, and a report about nothing is not written.
/// </summary>
[Cmdlet(VerbsData.Export, "RelocationReport", SupportsShouldProcess = true)]
[OutputType(typeof(ReportReceipt), typeof(string))]
public sealed class ExportRelocationReportCommand : RelocationCmdlet
{
    private readonly List<GateResult> _results = [];
    private readonly List<RelocationFinding> _loose = [];
    private readonly HashSet<RelocationFinding> _seen = new(ReferenceEqualityComparer.Instance);
    private readonly List<ImpactItem> _impact = [];
    private readonly HashSet<ImpactItem> _impactSeen = new(ReferenceEqualityComparer.Instance);
    private readonly List<RollbackStep> _rollback = [];
    private readonly HashSet<RollbackStep> _rollbackSeen = new(ReferenceEqualityComparer.Instance);
    private readonly List<ReportCheck> _checks = [];
    private readonly HashSet<ReadinessCheck> _readinessSeen = new(ReferenceEqualityComparer.Instance);
    private readonly List<ChecklistItem> _checklist = [];
    private readonly HashSet<ChecklistItem> _checklistSeen = new(ReferenceEqualityComparer.Instance);
    private string _root = "";
    private string? _changeId;
    private string? _state;
    private string? _runId;
    private TimeSpan _duration;

    /// <summary>Gate receipts, results or findings; impact items or receipts; rollback steps or plans; preflight and readiness receipts or checks; checklist items or receipts.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    public object? InputObject { get; set; }

    [Parameter(Mandatory = true, Position = 0)]
    public ReportFormat Format { get; set; }

    /// <summary>File to write; without it the report text is written to the pipeline.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    protected override void ProcessRecord()
    {
        var item = InputObject is PSObject ps ? ps.BaseObject : InputObject;
        if (item is RelocationReceipt receipt)
        {
            if (_root.Length == 0) _root = receipt.EstateRoot;
            _runId ??= receipt.RunId;
            _duration += receipt.EndedUtc - receipt.StartedUtc;
        }
        switch (item)
        {
            case GateReceipt gate:
                _results.AddRange(gate.Results);
                foreach (var f in gate.Results.SelectMany(r => r.Findings)) _seen.Add(f);
                Relocation(gate.ChangeId, gate.State);
                break;
            case GateResult result:
                _results.Add(result);
                foreach (var f in result.Findings) _seen.Add(f);
                break;
            case RelocationFinding finding:
                _loose.Add(finding);
                break;
            case ImpactItem impact:
                if (_impactSeen.Add(impact)) _impact.Add(impact);
                break;
            case ImpactReceipt impactReceipt:
                foreach (var i in impactReceipt.Items.Where(_impactSeen.Add)) _impact.Add(i);
                break;
            case RollbackStep step:
                if (_rollbackSeen.Add(step)) _rollback.Add(step);
                break;
            case RollbackPlanReceipt plan:
                foreach (var s in plan.Steps.Where(_rollbackSeen.Add)) _rollback.Add(s);
                _loose.AddRange(plan.Findings);
                Relocation(plan.ChangeId, plan.State);
                break;
            case PreflightReceipt preflight:
                _loose.AddRange(preflight.Findings);
                _checks.AddRange(preflight.Hosts.Select(h => new ReportCheck("preflight", h.HostId, "ssh_reachability", Status(h.Status), h.Evidence)));
                _checks.AddRange(preflight.HealthBaseline.Select(h => new ReportCheck("preflight", h.Service, "health_baseline", h.Healthy ? "OK" : "FAIL", $"{h.StatusCode} {h.Url}".Trim())));
                _checks.AddRange(preflight.BackupVerification.Select(b => new ReportCheck("preflight", b.Service, "backup_verification", b.Verified ? "OK" : "FAIL", b.Evidence)));
                Relocation(preflight.ChangeId, preflight.State);
                break;
            case ReadinessReceipt readiness:
                _loose.AddRange(readiness.Findings);
                foreach (var c in readiness.Checks.Where(_readinessSeen.Add)) _checks.Add(Readiness(c));
                break;
            case ReadinessCheck check:
                if (_readinessSeen.Add(check)) _checks.Add(Readiness(check));
                break;
            case ChecklistReceipt checklist:
                foreach (var i in checklist.Items.Where(_checklistSeen.Add)) _checklist.Add(i);
                Relocation(checklist.ChangeId, checklist.State);
                break;
            case ChecklistItem checklistItem:
                if (_checklistSeen.Add(checklistItem)) _checklist.Add(checklistItem);
                if (_root.Length == 0 && checklistItem.EstateRoot is { } itemRoot) _root = itemRoot;
                Relocation(checklistItem.ChangeId, null);
                break;
            default:
                WriteError(Catalogued(new ErrorRecord(
                    new ArgumentException($"Export-RelocationReport cannot report {(item is null ? "null" : item.GetType().FullName)}: it takes gate receipts, results and findings, impact items, rollback steps, preflight or readiness receipts and checks, and checklist items or receipts."),
                    "UnsupportedReportInput", ErrorCategory.InvalidArgument, item),
                    $"Export-RelocationReport cannot report {(item is null ? "null" : item.GetType().Name)}."));
                break;
        }
    }

    protected override void EndProcessing()
    {
        // Findings already carried by a receipt or result are not counted twice; the rest are grouped by gate.
        _results.AddRange(ReportWriter.GroupByGate(_loose.Where(f => !_seen.Contains(f))));
        var input = new ReportInput
        {
            Results = _results,
            Impact = _impact,
            Rollback = _rollback,
            Checks = _checks,
            Checklist = _checklist,
            EstateRoot = _root,
            RepositoryRoot = RepositoryRootOf(_root),
            ChangeId = _changeId,
            State = _state,
            RunId = _runId,
            Duration = _duration,
            ToolVersion = typeof(GateResult).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
        };
        if (input.IsEmpty)
        {
            // Never "Result: PASS" over an empty table: a report about nothing is an error.
            Fail("NothingToReport", FailureKind.InvalidArgument,
                "Export-RelocationReport received nothing it can report, so no report was written.", null);
            return;
        }
        WriteVerbose($"Report of {_results.Count} gate result(s), {_impact.Count} impact item(s), {_rollback.Count} rollback step(s), {_checks.Count} check(s), {_checklist.Count} checklist item(s).");
        var text = ReportWriter.Write(input, Format);
        if (Path is null)
        {
            WriteObject(text);
            return;
        }
        var full = ResolvePath(Path);
        if (!ShouldProcess(full, $"Write {Format} report"))
        {
            return;
        }
        var run = new RunContext("infra.relocation.report", MyInvocation.MyCommand.Name, RunMode.Execute, _root);
        Run(() => ReportWriter.Save(full, text));
        var findings = _results.SelectMany(r => r.Findings).ToList();
        WriteObject(run.Stamp(new ReportReceipt
        {
            Outcome = ReceiptOutcome.Succeeded,
            Summary = $"{Format} report of {_results.Count} gate result(s), {findings.Count} finding(s), {_impact.Count} impact item(s), " +
                      $"{_rollback.Count} rollback step(s), {_checks.Count} check(s), {_checklist.Count} checklist item(s) written to {full}",
            Findings = findings,
            Format = Format.ToString(),
            Path = full,
            FindingCount = findings.Count,
        }));
    }

    private void Relocation(string? changeId, string? state)
    {
        _changeId ??= changeId;
        _state ??= state;
    }

    private static ReportCheck Readiness(ReadinessCheck c) => new("readiness", c.Hostname, c.Check, Status(c.Status), c.Evidence);

    private static string Status(RemoteCheckStatus status) => status.ToString().ToUpperInvariant();

    // The git work tree the estate lives in (a .git folder or file above it), for repository-relative SARIF paths.
    private static string? RepositoryRootOf(string estateRoot)
    {
        if (string.IsNullOrEmpty(estateRoot)) return null;
        for (var dir = new DirectoryInfo(estateRoot); dir is not null; dir = dir.Parent)
        {
            var git = System.IO.Path.Combine(dir.FullName, ".git");
            if (Directory.Exists(git) || File.Exists(git)) return dir.FullName;
        }
        return null;
    }
}
