using InfraRelocation.Core.Concurrency;
using InfraRelocation.Core.Health;
using InfraRelocation.Core.Remote;
using InfraRelocation.Core.Ssh;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Invoke-RelocationPreflight: reachability of every host the relocation involves, required files, a health
/// baseline and backup verification, placement and live hypervisor identity (capability infra.relocation.preflight).
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "RelocationPreflight")]
[OutputType(typeof(RelocationFinding), typeof(PreflightReceipt))]
public sealed class InvokeRelocationPreflightCommand : RemoteCmdlet
{
    public InvokeRelocationPreflightCommand() => Timeout = 6;

    /// <summary>How many probes run at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = BoundedParallel.DefaultParallelism;

    /// <summary>Backups must hold a file newer than this many hours, unless the backup inventory says otherwise.</summary>
    [Parameter]
    [ValidateRange(0.01, 100000)]
    public double BackupMaxAgeHours { get; set; } = 26;

    protected override void EndProcessing()
    {
        var estate = LoadEstate();
        var run = BeginRun("infra.relocation.preflight", RunMode.Read);
        run.RecordInputs(estate.InputDigests);
        var options = new PreflightOptions
        {
            ThrottleLimit = ThrottleLimit,
            Timeout = TimeSpan.FromSeconds(Timeout),
            DefaultBackupMaxAgeHours = BackupMaxAgeHours,
            Ssh = SshOptions(),
        };
        using var http = new HttpHealthProbe();
        var result = Pump("Preflight", (progress, ct) => new PreflightRunner(Pool, http).RunAsync(estate, options, progress, ct));
        foreach (var f in result.Findings) WriteObject(f);
        var errors = result.Findings.Count(f => f.Severity == FindingSeverity.Error);
        var warnings = result.Findings.Count(f => f.Severity == FindingSeverity.Warning);
        var okHosts = result.Hosts.Count(h => h.Status == Remote.RemoteCheckStatus.Ok);
        EmitReceipt(run, new PreflightReceipt
        {
            ChangeId = estate.Manifest?.ActiveRelocation?.ChangeId,
            State = estate.Manifest?.ActiveRelocation?.StateText,
            Hosts = result.Hosts,
            RequiredFiles = result.RequiredFiles,
            HealthBaseline = result.HealthBaseline,
            BackupVerification = result.BackupVerification,
            Findings = result.Findings,
            ThrottleLimit = ThrottleLimit,
            DurationMs = Math.Round(result.Duration.TotalMilliseconds, 1),
            Outcome = result.Passed ? ReceiptOutcome.Passed : ReceiptOutcome.Failed,
            Summary = $"preflight {(result.Passed ? "passed" : "FAILED")}: {okHosts}/{result.Hosts.Count} host(s) reachable, " +
                      $"{result.HealthBaseline.Count(h => h.Healthy)}/{result.HealthBaseline.Count} healthy, " +
                      $"{result.BackupVerification.Count(b => b.Verified)}/{result.BackupVerification.Count} backup(s) verified; {errors} error(s), {warnings} warning(s)",
        });
        base.EndProcessing();
    }
}
