using InfraRelocation.Core.Transitions;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Close-Relocation: archives the complete active relocation into completed_relocations with completed_at and its
/// evidence (the ledger, the run that entered complete, the number of receipts), then sets active_relocation: null
/// (capability infra.relocation.archive). Refused unless the relocation is complete.
/// </summary>
[Cmdlet(VerbsCommon.Close, "Relocation", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(RelocationLifecycleReceipt))]
public sealed class CloseRelocationCommand : TransitionCmdlet
{
    protected override string Capability => RelocationLifecycle.ArchiveCapability;

    protected override void EndProcessing() =>
        Transition(
            new RelocationLifecycleReceipt { Subject = "relocation", Action = "archive", After = "archived" },
            (estate, env) => RelocationLifecycle.PlanArchive(estate, env),
            "archive",
            highImpact: false);
}
