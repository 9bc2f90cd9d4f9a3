using System.Management.Automation;
using InfraRelocation.Commands.Base;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Reports;
using InfraRelocation.Gates;
using InfraRelocation.Receipts;

namespace InfraRelocation.Commands.Commands;

/// <summary>Export-RelocationReport: writes gate receipts, results or findings from the pipeline as JSON, SARIF, JUnit or Markdown.</summary>
[Cmdlet(VerbsData.Export, "RelocationReport", SupportsShouldProcess = true)]
[OutputType(typeof(ReportReceipt), typeof(string))]
public sealed class ExportRelocationReportCommand : RelocationCmdlet
{
    private readonly List<GateResult> _results = [];
    private readonly List<RelocationFinding> _loose = [];
    private readonly HashSet<RelocationFinding> _seen = new(ReferenceEqualityComparer.Instance);
    private string _root = "";

    /// <summary>Gate receipts, gate results or findings (what the gate cmdlets write).</summary>
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
        switch (item)
        {
            case GateReceipt receipt:
                _results.AddRange(receipt.Results);
                foreach (var f in receipt.Results.SelectMany(r => r.Findings)) _seen.Add(f);
                if (_root.Length == 0) _root = receipt.EstateRoot;
                break;
            case GateResult result:
                _results.Add(result);
                foreach (var f in result.Findings) _seen.Add(f);
                break;
            case RelocationFinding finding:
                _loose.Add(finding);
                break;
            case RelocationReceipt other:
                _loose.AddRange(other.Findings);
                if (_root.Length == 0) _root = other.EstateRoot;
                break;
            default:
                WriteError(new ErrorRecord(new ArgumentException($"Export-RelocationReport takes gate receipts, gate results or findings, not {item?.GetType().FullName ?? "null"}."),
                    "UnsupportedReportInput", ErrorCategory.InvalidArgument, item));
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
            EstateRoot = _root,
            ToolVersion = typeof(GateResult).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
        };
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
            Summary = $"{Format} report of {_results.Count} gate result(s), {findings.Count} finding(s) written to {full}",
            Findings = findings,
            Format = Format.ToString(),
            Path = full,
            FindingCount = findings.Count,
        }));
    }
}
