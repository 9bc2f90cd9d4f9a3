namespace InfraRelocation.Receipts;

/// <summary>Where one provisioning step stands.</summary>
public enum ProvisionStepState
{
    /// <summary>In the plan; not sent (preview, or not reached).</summary>
    Planned,
    /// <summary>Sent and finished in this run.</summary>
    Done,
    /// <summary>Nothing to do: the server (or the estate) already had the wanted state.</summary>
    Skipped,
    /// <summary>Sent and failed.</summary>
    Failed,
}

/// <summary>
/// One call of a provisioning plan: the exact method, API path and parameters (secrets masked), and
/// what came of it.
/// </summary>
public sealed record ProvisionStep
{
    public int Order { get; init; }
    /// <summary>clone, configure, resize, start, address, record, reserve-vmid.</summary>
    public string Name { get; init; } = "";
    /// <summary>GET, POST, PUT, or FILE for an estate write.</summary>
    public string Method { get; init; } = "";
    /// <summary>API path under /api2/json, or the estate file for FILE steps.</summary>
    public string Path { get; init; } = "";
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
    public ProvisionStepState State { get; init; }
    public string? Upid { get; init; }
    public string? Note { get; init; }

    /// <summary>The call on one line: <c>POST /nodes/pve1/qemu/9000/clone newid=210 name=app-core</c>.</summary>
    public override string ToString() =>
        $"{Method} {Path}" + (Parameters.Count == 0 ? "" : " " + string.Join(" ", Parameters.Select(p => $"{p.Key}={p.Value}")))
        + (Note is null ? "" : $"  # {Note}");
}

/// <summary>Receipt of New-ProxmoxVm for one VM target (capability <c>infra.vm.provision</c>).</summary>
public sealed record ProvisionReceipt : RelocationReceipt
{
    /// <summary>The VM target's hostname.</summary>
    public string Target { get; init; } = "";
    public string? Profile { get; init; }
    /// <summary>The hypervisor's host id in the placement policy.</summary>
    public string? HypervisorHost { get; init; }
    /// <summary>The Proxmox node name.</summary>
    public string? Node { get; init; }
    public int? VmId { get; init; }
    public int? TemplateVmId { get; init; }
    /// <summary>The resolved settings the VM was built with (cores, memory_mb, …), as text.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<ProvisionStep> Steps { get; init; } = [];
    public IReadOnlyList<string> Upids { get; init; } = [];
    public string? Address { get; init; }
    /// <summary>Notes of the plan (e.g. template not set, VMID to be reserved).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
    /// <summary>True when this run continued a journal left by an interrupted run.</summary>
    public bool Resumed { get; init; }
    /// <summary>The estate transaction that recorded this receipt with its manifest write (null when the run wrote no estate file).</summary>
    public string? TransactionId { get; init; }
    /// <summary>Estate files the transaction wrote, with their digests before and after.</summary>
    public IReadOnlyList<WrittenFile> Files { get; init; } = [];
}
