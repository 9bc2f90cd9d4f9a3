using System.Management.Automation;
using InfraRelocation.Commands.Base;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Gates;
using InfraRelocation.Gates;
using InfraRelocation.Receipts;

namespace InfraRelocation.Commands.Commands;

/// <summary>Get-RelocationRollbackPlan: the deterministic rollback checklist (capability infra.relocation.rollback.plan).</summary>
[Cmdlet(VerbsCommon.Get, "RelocationRollbackPlan")]
[OutputType(typeof(RollbackStep), typeof(RollbackPlanReceipt))]
public sealed class GetRelocationRollbackPlanCommand : EstateCmdlet
{
    /// <summary>Only this service.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Service { get; set; }

    protected override void EndProcessing()
    {
        var estate = Run(() => EstateLoader.Load(Layout));
        var run = BeginRun("infra.relocation.rollback.plan", RunMode.Read);
        run.RecordInputs(estate.InputDigests);
        var plan = Run(() => RollbackPlanner.Plan(estate, Service));
        foreach (var error in plan.Errors)
        {
            WriteRelocationError(new RelocationException(error.RuleId,
                error.RuleId == "ServiceNotFound" ? FailureKind.ObjectNotFound : FailureKind.InvalidData,
                error.Message, error.Location, error.Subject) { Findings = [error] });
        }
        foreach (var step in plan.Steps)
        {
            WriteObject(step);
        }
        EmitReceipt(run, new RollbackPlanReceipt
        {
            Steps = plan.Steps,
            Findings = plan.Errors,
            ChangeId = plan.ChangeId,
            State = plan.State,
            MaxRollbackWindowHours = plan.MaxRollbackWindowHours,
            RequiresBackupVerification = plan.RequiresBackupVerification,
            Outcome = plan.Errors.Count == 0 ? ReceiptOutcome.Passed : ReceiptOutcome.Failed,
            Summary = $"{plan.Steps.Select(s => s.Service).Distinct().Count()} service(s), {plan.Steps.Count} step(s), {plan.Errors.Count} error(s)",
        });
    }
}
