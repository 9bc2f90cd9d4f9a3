using System.Management.Automation;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Gates;
using InfraRelocation.Gates;
using InfraRelocation.Receipts;

namespace InfraRelocation.Commands.Base;

/// <summary>
/// Base of the read-only gate cmdlets: loads the estate once, runs the gates, writes every finding and then a
/// <see cref="GateReceipt"/>. With -AsExitCode it writes only the exit code (0 pass, 1 findings, 2 invalid input),
/// sets $global:LASTEXITCODE and prints a per-rule count, the first findings and the summary to the host, for <c>exit (Invoke-RelocationGate -AsExitCode)</c>.
/// </summary>
public abstract class GateCmdlet : EstateCmdlet
{
    /// <summary>Write only the process exit code (0 pass, 1 findings, 2 invalid input) instead of objects.</summary>
    [Parameter]
    public SwitchParameter AsExitCode { get; set; }

    /// <summary>Keep the full findings in a content-addressed report beside the ledger (the receipt keeps counts, a digest and its path).</summary>
    [Parameter]
    public SwitchParameter KeepReport { get; set; }

    protected override Core.Receipts.ReceiptStore Receipts => new(ReceiptsPath) { KeepReports = KeepReport };

    protected abstract string Capability { get; }

    protected abstract IReadOnlyList<GateResult> Evaluate(EstateSnapshot estate);

    protected override void EndProcessing()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var estate = TryLoadEstate(null, writeFinding: !AsExitCode, out var unreadable);
        if (estate is null)
        {
            ReportUnreadable(unreadable!);
            return;
        }
        NarrateInputs(estate.InputDigests, clock.Elapsed);

        var run = BeginRun(Capability, RunMode.Read);
        run.RecordInputs(estate.InputDigests);
        clock.Restart();
        var results = Run(() => Evaluate(estate));
        WriteVerbose($"Gates ran in {clock.ElapsedMilliseconds} ms:");
        foreach (var r in results)
        {
            WriteVerbose($"  {r.GateId}: {(r.Passed ? "pass" : "FAIL")}, {r.Checked} checked, {r.ErrorCount} error(s), {r.WarningCount} warning(s): {r.Summary}");
        }
        var receipt = GateReceipts.Of(results, estate.Manifest);
        var findings = receipt.Findings;

        if (AsExitCode)
        {
            // The log gets the shape of the failure; -Verbose asks for every finding.
            var verbose = MyInvocation.BoundParameters.ContainsKey("Verbose");
            foreach (var line in ExitCodeLog.Lines(findings, receipt.Summary, verbose ? null : ExitCodeLog.DefaultFirstFindings))
            {
                WriteInformation(new HostInformationMessage { Message = line }, ["PSHOST"]);
            }
            TryRecord(run.Stamp(receipt));
            WriteExitCode(receipt.ExitCode);
            return;
        }
        foreach (var finding in findings)
        {
            WriteObject(finding);
        }
        EmitReceipt(run, receipt);
    }

    // A file that cannot be read fails the schema gate with exit code 2; the finding and the error are already
    // written. Without a root there is no ledger to record the run in.
    private void ReportUnreadable(RelocationFinding finding)
    {
        if (AsExitCode)
        {
            WriteInformation(new HostInformationMessage { Message = finding.ToString() }, ["PSHOST"]);
            WriteExitCode(GateExitCode.InvalidInput);
            return;
        }
        if (!HasLayout)
        {
            return;
        }
        var run = BeginRun(Capability, RunMode.Read);
        EmitUnrecorded(run, GateReceipts.Unreadable(finding));
    }

    private void WriteExitCode(int code)
    {
        SessionState.PSVariable.Set("global:LASTEXITCODE", code);
        WriteObject(code);
    }
}
