using System.Management.Automation;
using System.Security;
using System.Text;
using InfraRelocation.Commands.Base;
using InfraRelocation.Commands.Completers;
using InfraRelocation.Core.Remote;
using InfraRelocation.Core.Ssh;
using InfraRelocation.Receipts;
using InfraRelocation.Remote;

namespace InfraRelocation.Commands.Commands;

/// <summary>
/// Initialize-RelocationVm: brings a VM to its profile's baseline over SSH (packages, services, running checks,
/// mesh join, cron hooks, the profile's own steps); every step checks before it acts (capability infra.vm.bootstrap).
/// </summary>
[Cmdlet(VerbsData.Initialize, "RelocationVm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(BootstrapStepResult), typeof(BootstrapReceipt))]
public sealed class InitializeRelocationVmCommand : RemoteCmdlet
{
    /// <summary>The VM's hostname (its vm_targets hostname and ssh.targets id).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostnameCompleter))]
    public string Hostname { get; set; } = "";

    /// <summary>The VM profile to apply; defaults to the VM target's profile in the manifest.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(ProfileCompleter))]
    public string? Profile { get; set; }

    /// <summary>The mesh (Tailscale) auth key; else the environment variable named by the profile's tailscale_auth_secret_key.</summary>
    [Parameter]
    public SecureString? AuthKey { get; set; }

    /// <summary>Seconds each remote command may run (package installs can be slow).</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public double CommandTimeout { get; set; } = 600;

    private Core.Estate.Estate? _estate;

    protected override void ProcessRecord()
    {
        _estate ??= LoadEstate();
        var estate = _estate;
        var run = BeginRun("infra.vm.bootstrap", RunMode.Execute);
        run.RecordInputs(estate.InputDigests);
        var target = Run(() => ReadinessChecker.ResolveTarget(estate, Hostname, string.IsNullOrWhiteSpace(Profile) ? null : Profile, null));
        if (HostChangeRefusal(estate, $"bootstrapping {Hostname}") is { } refusal)
        {
            if (!Core.Governance.MutationGuard.IsUnreadableEstate(refusal))
            {
                EmitReceipt(run, new BootstrapReceipt
                {
                    Hostname = Hostname, Profile = target.Profile, Outcome = ReceiptOutcome.Blocked, Findings = refusal.Findings,
                    Summary = $"{Hostname}: refused by the gates ({refusal.Findings.Count} error(s)); nothing ran",
                });
            }
            Fail(refusal);
            return;
        }
        var profile = estate.Profiles!.Profiles[target.Profile];
        var resolver = new SshEndpointResolver(estate.SshTargets, estate.Layout.Root, SshOptions(TimeSpan.FromSeconds(CommandTimeout)));
        var endpoint = resolver.TryResolve(Hostname, out var whyNot);
        var steps = Run(() => BootstrapPlanner.Plan(profile, Hostname, endpoint?.User ?? "root"));

        var description = new StringBuilder($"Bootstrap {Hostname} with profile {target.Profile} over SSH {(endpoint is null ? $"(no endpoint: {whyNot})" : PreflightRunner.Address(endpoint))}: {steps.Count} step(s)");
        foreach (var s in steps)
        {
            description.Append(Environment.NewLine).Append("  ").Append(s.Name).Append(": ");
            if (s.SkipReason is not null) description.Append("skipped (").Append(s.SkipReason).Append(')');
            else description.Append("check `").Append(s.Check).Append('`').Append(s.Run is null ? " (verify only)" : $"; if not done run `{s.Run}`");
        }
        if (!ShouldProcess(description.ToString(), $"Bootstrap {Hostname} ({steps.Count} step(s))?", "Initialize-RelocationVm"))
        {
            var preview = BootstrapExecutor.Preview(Hostname, steps);
            foreach (var row in preview) WriteObject(row);
            run.Mode = RunMode.Preview;
            EmitReceipt(run, new BootstrapReceipt
            {
                Hostname = Hostname, Profile = target.Profile, Steps = preview, Outcome = ReceiptOutcome.Previewed,
                Summary = $"{Hostname} ({target.Profile}): preview of {steps.Count} step(s); nothing ran",
            });
            return;
        }
        if (endpoint is null)
        {
            Fail("SshTargetMissing", FailureKind.ObjectNotFound, $"Cannot bootstrap {Hostname}: {whyNot}.", Hostname);
            return;
        }

        SshSecret? key = null;
        if (steps.Any(s => s.NeedsSecret && s.SkipReason is null))
        {
            var name = profile.Bootstrap.TailscaleAuthSecretKey;
            var plain = AuthKey is not null ? SecretVault.Plain(AuthKey)
                : name is { Length: > 0 } ? Environment.GetEnvironmentVariable(name) ?? SecretVault.ReadPlain(this, name) : null;
            if (!string.IsNullOrEmpty(plain)) key = new SshSecret(plain);
            else WriteVerbose("No mesh auth key given: the mesh step can only pass if the VM is already connected.");
        }

        var results = Pump($"Bootstrap {Hostname}", (progress, ct) =>
            new BootstrapExecutor(Pool).RunAsync(endpoint, Hostname, steps, key, row =>
            {
                Post(row);
                progress(new FanOutProgress($"Bootstrap {Hostname}", row.Step, row.Order, steps.Count));
            }, ct));

        var failed = results.Where(r => r.State == BootstrapStepState.Failed).ToList();
        foreach (var f in failed)
        {
            WriteRelocationError(new RelocationException("BootstrapStepFailed", FailureKind.InvalidOperation,
                $"{Hostname}: step {f.Step} failed: {f.Evidence}. Re-run to resume: finished steps are checked and skipped.", target: Hostname));
        }
        var doneCount = results.Count(r => r.State == BootstrapStepState.Done);
        EmitReceipt(run, new BootstrapReceipt
        {
            Hostname = Hostname,
            Profile = target.Profile,
            Steps = results,
            Findings = failed.Select(f => PreflightRunner.Finding("BOOTSTRAP.StepFailed", true, $"{Hostname}: {f.Step}: {f.Evidence}", null, null, Hostname)).ToList(),
            Outcome = failed.Count > 0 ? ReceiptOutcome.Failed : doneCount > 0 ? ReceiptOutcome.Succeeded : ReceiptOutcome.Unchanged,
            Summary = $"{Hostname} ({target.Profile}): {doneCount} done, {results.Count(r => r.State == BootstrapStepState.Unchanged)} unchanged, " +
                      $"{failed.Count} failed, {results.Count(r => r.State == BootstrapStepState.NotRun)} not run, {results.Count(r => r.State == BootstrapStepState.Skipped)} skipped, " +
                      $"{results.Count(r => r.State == BootstrapStepState.NotApplicable)} not applicable",
        });
    }
}
