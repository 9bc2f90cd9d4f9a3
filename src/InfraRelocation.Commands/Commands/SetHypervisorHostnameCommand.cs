using System.Management.Automation;
using InfraRelocation.Commands.Base;
using InfraRelocation.Commands.Completers;
using InfraRelocation.Core.Remote;
using InfraRelocation.Core.Ssh;
using InfraRelocation.Receipts;

namespace InfraRelocation.Commands.Commands;

/// <summary>
/// Set-HypervisorHostname: sets a hypervisor's hostname after proving over SSH that its machine-id is the one the
/// placement policy pins (capability infra.hypervisor.hostname.set). -WhatIf still probes.
/// </summary>
[Cmdlet(VerbsCommon.Set, "HypervisorHostname", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(HostnameChangeReceipt))]
public sealed class SetHypervisorHostnameCommand : RemoteCmdlet
{
    /// <summary>The hypervisor's host id (a placement-policy host of kind proxmox with an ssh.targets entry).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostIdCompleter))]
    public string HostId { get; set; } = "";

    /// <summary>The hostname to set; defaults to the host id.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string? NewName { get; set; }

    protected override void ProcessRecord()
    {
        var estate = LoadEstate();
        var name = NewName ?? HostId;
        Run(() => HypervisorProbe.ValidateHostname(name));
        var run = BeginRun("infra.hypervisor.hostname.set", RunMode.Execute);
        run.RecordInputs(estate.InputDigests);
        if (estate.Policy?.Hosts.GetValueOrDefault(HostId) is not { IsProxmox: true } host)
        {
            Fail("HypervisorNotInPolicy", FailureKind.ObjectNotFound,
                $"'{HostId}' is not a host of kind proxmox in the placement policy.", HostId);
            return;
        }
        if (HostChangeRefusal(estate, $"setting the hostname of {HostId}") is { } refusal)
        {
            if (!Core.Governance.MutationGuard.IsUnreadableEstate(refusal))
            {
                EmitReceipt(run, new HostnameChangeReceipt
                {
                    HostId = HostId, NewName = name, PinnedMachineId = host.MachineId, Outcome = ReceiptOutcome.Blocked, Findings = refusal.Findings,
                    Summary = $"{HostId}: refused by the gates ({refusal.Findings.Count} error(s)); nothing sent",
                });
            }
            Fail(refusal);
            return;
        }
        var endpoint = Run(() => new SshEndpointResolver(estate.SshTargets, estate.Layout.Root, SshOptions()).Resolve(HostId));
        var receipt = new HostnameChangeReceipt { HostId = HostId, NewName = name, PinnedMachineId = host.MachineId };

        var probe = PumpTask($"Probe {HostId}", (_, ct) => new HypervisorProbe(Pool).AssertIdentityAsync(endpoint, host.MachineId, ct));
        if (probe.Exception?.InnerException is RelocationException rex)
        {
            run.Mode = RunMode.Preview;
            EmitReceipt(run, receipt with
            {
                Outcome = ReceiptOutcome.Blocked,
                Findings = [PreflightRunner.Finding(rex.ErrorId == "HypervisorMachineIdMismatch" ? "IDENTITY.MachineIdMismatch" : "IDENTITY.ProbeFailed", true, rex.Message, host.LocationOf("machine_id"), estate.Policy.File, HostId)],
                Summary = $"{HostId}: refused: {rex.Message}",
            });
            Fail(rex);
            return;
        }
        var before = Run(() => probe.GetAwaiter().GetResult());
        receipt = receipt with { PreviousName = before.NodeName, MachineId = before.MachineId };
        if (host.MachineId is null)
            WriteWarning($"{HostId} has no pinned machine_id in the placement policy: the host's identity could not be asserted (it reports {before.MachineId ?? "no machine-id"}).");

        var action = before.NodeName == name
            ? $"Keep hostname '{name}' (already set)"
            : $"Set hostname from '{before.NodeName}' to '{name}' (hostnamectl, else /etc/hostname + hostname; /etc/hosts and /etc/pve/nodes are not touched)";
        if (!ShouldProcess($"{HostId} ({PreflightRunner.Address(endpoint)}, machine-id {before.MachineId ?? "unknown"})", action))
        {
            run.Mode = RunMode.Preview;
            EmitReceipt(run, receipt with { Outcome = ReceiptOutcome.Previewed, Summary = $"{HostId}: would {action[0..1].ToLowerInvariant()}{action[1..]}; nothing changed" });
            return;
        }
        var change = Pump($"Set hostname {HostId}", (_, ct) => new HypervisorProbe(Pool).SetHostnameAsync(endpoint, name, host.MachineId, ct));
        EmitReceipt(run, receipt with
        {
            ReportedName = change.After.NodeName,
            Method = change.Method,
            Outcome = change.Changed ? ReceiptOutcome.Succeeded : ReceiptOutcome.Unchanged,
            Summary = change.Changed ? $"{HostId}: hostname '{change.Before.NodeName}' → '{change.After.NodeName}' via {change.Method}" : $"{HostId}: hostname already '{name}'",
        });
    }
}
