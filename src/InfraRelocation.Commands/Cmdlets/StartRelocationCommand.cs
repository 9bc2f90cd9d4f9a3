using InfraRelocation.Core.Transitions;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Start-Relocation: writes a new active_relocation (change id, owner, state planning) into the manifest, keeping
/// every other byte (capability infra.relocation.start). Refused while a relocation is active.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "Relocation", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(RelocationLifecycleReceipt))]
public sealed class StartRelocationCommand : TransitionCmdlet
{
    /// <summary>The change id (links to the open loop); must not be archived already.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string ChangeId { get; set; } = "";

    /// <summary>The responsible party (active_relocation.owner).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Owner { get; set; } = "";

    protected override string Capability => RelocationLifecycle.StartCapability;

    protected override void ProcessRecord()
    {
        var request = new StartRelocationRequest(ChangeId, Owner);
        Transition(
            new RelocationLifecycleReceipt { Subject = "relocation", Action = "start", ChangeId = ChangeId, Owner = Owner, After = "planning" },
            (estate, env) => RelocationLifecycle.PlanStart(estate, request, env),
            ChangeId,
            highImpact: false);
    }
}
