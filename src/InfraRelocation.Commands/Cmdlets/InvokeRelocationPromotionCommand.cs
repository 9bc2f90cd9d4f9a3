using InfraRelocation.Commands.Completers;
using InfraRelocation.Core.Health;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Model;

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
        var promotion = new Promotion(Service, new PromotionProbeOptions
        {
            Probes = Probes,
            Interval = TimeSpan.FromSeconds(IntervalSeconds),
            Window = TimeSpan.FromSeconds(WindowSeconds),
            Timeout = TimeSpan.FromSeconds(TimeoutSeconds),
        });

        GateFailure? HealthGate(TransitionRun preview)
        {
            if (promotion.HealthUrl is { } url)
            {
                WriteVerbose($"Probing {url} until {Probes} consecutive healthy answers (expected {string.Join("/", promotion.ExpectedStatus)}) within {WindowSeconds} s.");
            }
            using var probe = new HttpHealthProbe();
            var refusal = Run(() => promotion.CheckHealthAsync(probe, CancelToken).GetAwaiter().GetResult());
            foreach (var p in promotion.Probes)
            {
                WriteVerbose($"probe {p.Attempt}: {(p.Healthy ? "healthy" : "UNHEALTHY")} {p.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"} {p.LatencyMs} ms {p.Error}");
            }
            return refusal is null ? null : new GateFailure(refusal.ErrorId, refusal.Message);
        }

        var promoted = Transition(
            new PromotionReceipt { Subject = Service, Service = Service, After = "applied", RequiredProbes = Probes },
            promotion.Plan,
            Service,
            highImpact: false,
            gate: HealthGate,
            afterCommit: promotion.ParityAfterWrite,
            decorate: promotion.Describe,
            editing: promotion.FilesEdited(Layout));
        if (promoted is null && promotion.Unhealthy is { } unhealthy && RollbackOnFailure)
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
