namespace InfraRelocation.Core.Provisioning;

/// <summary>One privilege a capability needs on an ACL path, and why.</summary>
public sealed record RequiredPrivilege(string Path, string Privilege, string Why);

/// <summary>
/// The privileges New-ProxmoxVm needs, per PVE major version, as the API checks them (qemu-server PVE/API2/Qemu.pm:
/// clone_vm's permission check and $check_storage_access_clone, check_bridge_access via pve-guest-common
/// PVE/GuestHelpers.pm check_vnet_access, update_vm's per-key checks, resize_vm, vm_start, migrate_vm, and the agent
/// endpoints: VM.GuestAgent.Audit since PVE 9, VM.Monitor before). A privilege-separated token has only what its
/// own ACLs grant, and index calls filter silently, so these are checked up front with GET /access/permissions.
/// </summary>
public static class ProvisionPrivileges
{
    public static IReadOnlyList<RequiredPrivilege> For(ResolvedProvisioning settings, int templateVmId, int? vmId, string? pool, int pveMajor)
    {
        var vm = vmId is { } id ? "/vms/" + id.ToString(System.Globalization.CultureInfo.InvariantCulture) : "/vms";
        var template = "/vms/" + templateVmId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var list = new List<RequiredPrivilege>
        {
            new(template, "VM.Audit", "find and read the template"),
            new(template, "VM.Clone", "clone the template"),
            pool is null ? new(vm, "VM.Allocate", "create the VM") : new("/pool/" + pool, "VM.Allocate", "create the VM in pool " + pool),
            new("/storage/" + settings.Storage, "Datastore.AllocateSpace", "allocate the clone's disks"),
            new("/storage/" + settings.Storage, "Datastore.Audit", "check the storage"),
            new(vm, "VM.Audit", "read the VM's config and status"),
            new(vm, "VM.Config.CPU", "set cores"),
            new(vm, "VM.Config.Memory", "set memory"),
            new(vm, "VM.Config.Network", "set net0"),
            new(vm, "VM.Config.Cloudinit", "set ciuser, ipconfig0, sshkeys, nameserver"),
            new(vm, "VM.Config.Options", "set agent, onboot, name"),
            new(vm, "VM.Config.Disk", "grow the disk"),
            new(vm, "VM.PowerMgmt", "start the VM"),
        };
        if (pveMajor >= 8) list.Add(new($"/sdn/zones/localnetwork/{settings.Bridge}", "SDN.Use", $"attach net0 to bridge {settings.Bridge}"));
        if (settings.QemuAgent)
        {
            list.Add(pveMajor >= 9
                ? new(vm, "VM.GuestAgent.Audit", "read the guest's address from the agent (PVE 9)")
                : new(vm, "VM.Monitor", "read the guest's address from the agent (PVE 8)"));
        }
        return list;
    }

    /// <summary>What the clone-then-migrate route adds.</summary>
    public static RequiredPrivilege Migrate(int? vmId) =>
        new(vmId is { } id ? "/vms/" + id.ToString(System.Globalization.CultureInfo.InvariantCulture) : "/vms", "VM.Migrate",
            "migrate the clone from the template's node");
}
