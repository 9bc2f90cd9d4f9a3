using InfraRelocation.Core.Yaml;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Estate.Readers;

/// <summary>Reads the VM profiles (<c>infra.vm.profiles.yaml</c>).</summary>
public static class VmProfilesReader
{
    public static VmProfileCatalog Read(YNode? root, ReadContext context)
    {
        var doc = context.Root(root);
        var defaults = doc.Map("defaults");
        var proxmoxUser = defaults.Str("proxmox_user");
        var defaultSettings = ReadProvisioning(defaults);
        var profiles = new Dictionary<string, VmProfile>(StringComparer.Ordinal);
        foreach (var (key, value, path) in context.Entries(doc.Node("profiles"), "profiles"))
        {
            var f = Fields.Of(context, value, path, path);
            var description = f.Str("description");
            var provisioning = f.Map("provisioning");
            var bootstrap = f.Map("bootstrap");
            var readiness = f.Map("readiness");
            profiles[key.Value] = f.Finish(new VmProfile
            {
                Name = key.Value,
                Description = description,
                Provisioning = ReadProvisioning(provisioning),
                Bootstrap = ReadBootstrap(bootstrap),
                Readiness = ReadReadiness(readiness),
            });
        }
        return doc.Finish(new VmProfileCatalog
        {
            File = context.File,
            Defaults = defaultSettings,
            ProxmoxUser = proxmoxUser,
            Profiles = profiles,
        });
    }

    private static ProvisioningSettings ReadProvisioning(Fields f) => f.Finish(new ProvisioningSettings
    {
        TemplateVmId = TemplateVmId(f),
        CpuCores = f.Int("cpu_cores"),
        MemoryMb = f.Int("memory_mb"),
        DiskGb = f.Int("disk_gb"),
        Bridge = f.Str("bridge"),
        Storage = f.Str("storage"),
        CiNetworkCidr = f.Str("ci_network_cidr"),
        CiUser = f.Str("ci_user"),
        Nameserver = f.Str("nameserver"),
        SearchDomain = f.Str("search_domain"),
        SshKeyFile = f.Str("sshkey_file"),
        QemuAgent = f.Bool("qemu_agent"),
        OnBoot = f.Bool("onboot"),
        Pool = f.Str("pool"),
    });

    // "__SET_ME__" is the reference's placeholder for "not set yet".
    private static int? TemplateVmId(Fields f) =>
        f.Node("template_vmid") is YScalar { Value: "__SET_ME__" } ? null : f.Int("template_vmid");

    private static BootstrapSettings ReadBootstrap(Fields f)
    {
        var hooks = f.Context.Items(f.Node("cron_hooks"), f.PathOf("cron_hooks")).Select(i =>
        {
            var h = Fields.Of(f.Context, i.Node, i.Path, i.Path);
            return h.Finish(new CronHook
            {
                Name = h.Str("name", required: true) ?? "",
                Schedule = h.Str("schedule"),
                Command = h.Str("command"),
                Required = h.Bool("required") ?? false,
            });
        }).ToList();
        var steps = f.Context.Items(f.Node("steps"), f.PathOf("steps")).Select(i =>
        {
            var h = Fields.Of(f.Context, i.Node, i.Path, i.Path);
            return h.Finish(new BootstrapCustomStep
            {
                Name = h.Str("name", required: true) ?? "",
                Check = h.Str("check"),
                Run = h.Str("run"),
            });
        }).ToList();
        return f.Finish(new BootstrapSettings
        {
            PackageManager = f.Str("package_manager"),
            Packages = f.StrList("packages") ?? [],
            ServicesEnable = f.StrList("services_enable") ?? [],
            RequireTailscaleConnected = f.Bool("require_tailscale_connected"),
            RequireQemuAgentRunning = f.Bool("require_qemu_agent_running"),
            RequireDockerRunning = f.Bool("require_docker_running"),
            RequireCronRunning = f.Bool("require_cron_running"),
            TailscaleAuthSecretPath = f.Str("tailscale_auth_secret_path"),
            TailscaleAuthSecretKey = f.Str("tailscale_auth_secret_key"),
            CronHooks = hooks,
            Steps = steps,
        });
    }

    private static ReadinessSettings ReadReadiness(Fields f) => f.Finish(new ReadinessSettings
    {
        RequireRunning = f.Bool("require_running"),
        RequireSshTargetBinding = f.Bool("require_ssh_target_binding"),
        RequireSshReachability = f.Bool("require_ssh_reachability"),
        RequireTailscaleConnected = f.Bool("require_tailscale_connected"),
        RequireQemuAgentRunning = f.Bool("require_qemu_agent_running"),
        RequireCronRunning = f.Bool("require_cron_running"),
        RequireBackupBinding = f.Bool("require_backup_binding"),
    });
}
