using System.Management.Automation;
using InfraRelocation.Commands.Base;
using InfraRelocation.Commands.Completers;
using InfraRelocation.Core.Health;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Model;
using InfraRelocation.Receipts;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Invoke-RelocationPromotion: health-gated cutover → applied (capability infra.relocation.promote). Probes the
/// service's health_url until -Probes consecutive probes are healthy within -WindowSeconds, writes applied in one
/// transaction, then runs parity (D35 + D37) on the files as written and reverts the write by itself if parity fails.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "RelocationPromotion", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(PromotionReceipt), typeof(RollbackStepRecord), typeof(RollbackReceipt))]
public sealed class InvokeRelocationPromotionCommand : TransitionCmdlet
{
    /// <summary>The service to promote; binds by property name from Get-RelocationManifest's Services.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ServiceCompleter))]
    public string Service { get; set; } = "";

    /// <summary>Consecutive healthy probes required.</summary>
    [Parameter]
    [ValidateRange(1, 1000)]
    public int Probes { get; set; } = 3;

    /// <summary>Seconds between probes.</summary>
    [Parameter]
    [Alias("Interval")]
    [ValidateRange(0.0, 3600.0)]
    public double IntervalSeconds { get; set; } = 5;

    /// <summary>Seconds within which the run of healthy probes must be reached.</summary>
    [Parameter]
    [Alias("Window")]
    [ValidateRange(0.0, 86400.0)]
    public double WindowSeconds { get; set; } = 120;

    /// <summary>Seconds one probe may take (no answer in time = unhealthy).</summary>
    [Parameter]
    [Alias("Timeout")]
    [ValidateRange(0.1, 600.0)]
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// When the health gate fails, run the service-level rollback (Invoke-RelocationRollback, with the same -Root,
    /// -WhatIf and the gate's verdict as the reason); its steps and receipt follow the promotion's.
    /// </summary>
    [Parameter]
    public SwitchParameter RollbackOnFailure { get; set; }

    /// <summary>Each piped item is its own transaction: a refused item is a non-terminating error.</summary>
    protected override bool StopOnItemError => false;

    protected override string Capability => LedgerView.PromotionCapability;

    protected override void ProcessRecord()
    {
        string? healthUrl = null;
        IReadOnlyList<int> expected = [200];
        var probes = new List<HealthProbeRecord>();
        bool? parityPassed = null;
        string? revertReason = null;
        string? unhealthy = null;

        TransitionPlan Plan(Core.Estate.EstateSnapshot estate, TransitionEnvironment env)
        {
            var service = estate.Manifest?.Services.FirstOrDefault(s => s.Service == Service);
            if (service is not null)
            {
                healthUrl = PromotionHealthGate.HealthUrlOf(service);
                expected = PromotionHealthGate.ExpectedStatus(estate, Service);
                if (service.Status is not { } status || !(status == ServiceStatus.Cutover || ServiceStatusMachine.IsPromoted(status)))
                {
                    throw new RelocationException("PromotionNeedsCutover", FailureKind.InvalidOperation,
                        $"Only a service in cutover can be promoted; '{Service}' is {service.StatusText ?? "(no status)"}.",
                        service.LocationOf("status"), Service);
                }
            }
            return TransitionPlanner.PlanService(estate, new ServiceTransitionRequest(Service, ServiceStatus.Migrated) { ViaPromotion = true }, env);
        }

        GateFailure? ProbeGate(TransitionRun preview)
        {
            if (healthUrl is null)
            {
                return new GateFailure("HealthUrlMissing",
                    $"'{Service}' has no health_url to probe; promote it with Set-RelocationServiceStatus -Status applied -Force -Reason '<why>' (recorded as an override).");
            }
            if (!Uri.TryCreate(healthUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            {
                return new GateFailure("HealthUrlInvalid", $"health_url '{healthUrl}' of '{Service}' is not an http(s) URL.");
            }
            using var probe = new HttpHealthProbe();
            var options = new PromotionProbeOptions
            {
                Probes = Probes,
                Interval = TimeSpan.FromSeconds(IntervalSeconds),
                Window = TimeSpan.FromSeconds(WindowSeconds),
                Timeout = TimeSpan.FromSeconds(TimeoutSeconds),
            };
            WriteVerbose($"Probing {url} until {Probes} consecutive healthy answers (expected {string.Join("/", expected)}) within {WindowSeconds} s.");
            var result = Run(() => PromotionHealthGate.RunAsync(url, expected, options, probe, null, CancelToken).GetAwaiter().GetResult());
            probes.AddRange(result.Probes);
            foreach (var p in result.Probes)
            {
                WriteVerbose($"probe {p.Attempt}: {(p.Healthy ? "healthy" : "UNHEALTHY")} {p.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"} {p.LatencyMs} ms {p.Error}");
            }
            unhealthy = result.Healthy ? null : result.Summary;
            return result.Healthy ? null : new GateFailure("PromotionUnhealthy", $"Promotion of '{Service}' blocked: {result.Summary}. Nothing was written.");
        }

        string? ParityAfterWrite(Core.Estate.EstateSnapshot written)
        {
            var errors = PromotionHealthGate.ErrorsAfterWrite(written, Service);
            parityPassed = errors.Count == 0;
            if (parityPassed.Value)
            {
                return null;
            }
            revertReason = $"parity failed on the written files ({string.Join("; ", errors.Take(3).Select(f => $"{f.RuleId}: {f.Message}"))}{(errors.Count > 3 ? $"; and {errors.Count - 3} more" : "")})";
            return revertReason;
        }

        var promoted = Transition(
            new PromotionReceipt { Subject = Service, Service = Service, After = "applied", RequiredProbes = Probes },
            Plan,
            Service,
            highImpact: false,
            gate: ProbeGate,
            afterCommit: ParityAfterWrite,
            decorate: r => r with
            {
                HealthUrl = healthUrl,
                ExpectedStatus = expected,
                Probes = probes.ToList(),
                ParityPassed = parityPassed,
                RevertReason = revertReason,
            });
        if (promoted is null && unhealthy is not null && RollbackOnFailure)
        {
            RollBackAfterFailedGate(unhealthy);
        }
    }

    /// <summary>The one rollback there is: Invoke-RelocationRollback in this runspace, its output and errors passed on.</summary>
    private void RollBackAfterFailedGate(string verdict)
    {
        WriteWarning($"The health gate of '{Service}' failed ({verdict}): rolling it back (-RollbackOnFailure).");
        using var rollback = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
        rollback.AddCommand("Invoke-RelocationRollback")
            .AddParameter("Root", Layout.Root)
            .AddParameter("Service", new[] { Service })
            .AddParameter("Reason", $"Invoke-RelocationPromotion: the health gate failed ({verdict})")
            .AddParameter("Confirm", false);
        if (MyInvocation.BoundParameters.TryGetValue("WhatIf", out var whatIf))
        {
            rollback.AddParameter("WhatIf", whatIf);
        }
        try
        {
            foreach (var item in rollback.Invoke())
            {
                WriteObject(item);
            }
        }
        catch (RuntimeException ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ex.ErrorRecord); // a rollback refused before it ran (e.g. no rollback_to): its own clear error
        }
        foreach (var error in rollback.Streams.Error)
        {
            WriteError(error);
        }
    }
}
