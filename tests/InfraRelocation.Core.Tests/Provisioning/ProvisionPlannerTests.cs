using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Provisioning;
using InfraRelocation.Core.Proxmox;
using InfraRelocation.Core.Tests.Model;
using InfraRelocation.Model;
using YamlDotNet.RepresentationModel;

namespace InfraRelocation.Core.Tests.Provisioning;

public sealed class ProvisionPlannerTests
{
    private static readonly Estate.EstateSnapshot Sample = TestEstate.Load(TestEstate.RepoRoot);

    [Fact]
    public void Resolves_target_then_profile_then_defaults_then_built_ins_and_honours_explicit_false()
    {
        var target = ProvisionPlanner.FindTarget(Sample, "backup-proxy");
        var (name, profile, catalog) = ProvisionPlanner.FindProfile(Sample, target, null);
        var s = ProvisionPlanner.Resolve(target, profile, catalog.Defaults, homeDirectory: "/home/ops");

        Assert.Equal("standby-v1", name);
        Assert.Equal(9302, s.TemplateVmId);
        Assert.Equal(2, s.Cores);
        Assert.Equal(48, s.DiskGb);
        Assert.False(s.OnBoot);                            // explicit false in the profile
        Assert.True(s.QemuAgent);
        Assert.Equal("local-zfs", s.Storage);              // defaults
        Assert.Equal("ops", s.CiUser);
        Assert.Equal("ip=198.51.100.111/24,gw=198.51.100.1", s.IpConfig0); // the target's own network wins
        Assert.Equal("/home/ops/.ssh/id_ed25519.pub", s.SshKeyFile);
    }

    [Fact]
    public void Built_ins_apply_when_nothing_is_set()
    {
        var s = ProvisionPlanner.Resolve(new VmTarget { Hostname = "x" }, new VmProfile { Name = "bare" }, new ProvisioningSettings());
        Assert.Null(s.TemplateVmId);
        Assert.Equal((2, 4096, 32, "vmbr0", "local-lvm", "ubuntu", "ip=dhcp"), (s.Cores, s.MemoryMb, s.DiskGb, s.Bridge, s.Storage, s.CiUser, s.IpConfig0));
        Assert.True(s.OnBoot);
    }

    [Fact]
    public void The_plan_lists_each_call_in_order_and_notes_an_unset_template()
    {
        var target = ProvisionPlanner.FindTarget(Sample, "files-core");
        var (name, profile, catalog) = ProvisionPlanner.FindProfile(Sample, target, null);
        var s = ProvisionPlanner.Resolve(target, profile, catalog.Defaults) with { TemplateVmId = null };
        var host = new ProxmoxHostSettings("pve-fra1-a", new Uri("https://127.0.0.1:8006"), "pve-fra1-a", null, null);
        var plan = ProvisionPlanner.Plan(Sample, target, name, s, host, 216, reserveVmId: false, sshKeys: "ssh-ed25519 AAAA key1\nssh-ed25519 BBBB key2");

        Assert.Equal(["clone", "configure", "resize", "start", "address", "record"], plan.Steps.Select(x => x.Name));
        var configure = plan.Steps[1];
        Assert.Equal("PUT /nodes/pve-fra1-a/qemu/216/config", $"{configure.Method} {configure.Path}");
        Assert.Matches(@"^<2 public key\(s\) from .*/\.ssh/id_ed25519\.pub>$", configure.Parameters["sshkeys"]);
        Assert.Equal("1", configure.Parameters["onboot"]);
        Assert.Contains(plan.Notes, n => n.Contains("template_vmid is not set", StringComparison.Ordinal));
    }

    [Fact]
    public void A_pool_from_the_profile_or_its_defaults_goes_into_the_clone_and_the_privileges()
    {
        var target = ProvisionPlanner.FindTarget(Sample, "files-core");
        var (name, profile, catalog) = ProvisionPlanner.FindProfile(Sample, target, null);
        Assert.Null(ProvisionPlanner.Resolve(target, profile, catalog.Defaults).Pool);

        var s = ProvisionPlanner.Resolve(target, profile, catalog.Defaults with { Pool = "relocation" });
        var overridden = ProvisionPlanner.Resolve(target, profile with { Provisioning = profile.Provisioning with { Pool = "dr" } },
            catalog.Defaults with { Pool = "relocation" });
        var host = new ProxmoxHostSettings("pve-fra1-a", new Uri("https://127.0.0.1:8006"), "pve-fra1-a", null, null);
        var plan = ProvisionPlanner.Plan(Sample, target, name, s, host, 216, reserveVmId: false, sshKeys: null);

        Assert.Equal("dr", overridden.Pool);
        Assert.Equal("relocation", plan.Steps.Single(x => x.Name == "clone").Parameters["pool"]);
        Assert.Equal("relocation", s.ToDictionary()["pool"]);
        Assert.Contains(ProvisionPrivileges.For(s, 9002, 216, s.Pool, 8), p => p.Path == "/pool/relocation" && p.Privilege == "VM.Allocate");
    }

    [Fact]
    public void Net0_keeps_the_mac_and_options_and_sets_the_bridge()
    {
        Assert.Equal("virtio=BC:24:11:00:00:01,bridge=vmbr1,firewall=1", ProvisionPlanner.Net0For("virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1", "vmbr1"));
        Assert.Equal("virtio=BC:24:11:00:00:01,bridge=vmbr0", ProvisionPlanner.Net0For("virtio=BC:24:11:00:00:01", "vmbr0"));
    }

    [Theory]
    [InlineData("proxmox:\n  token_secret: \"abc\"\n", 2, "must not hold the secret")]
    [InlineData("proxmox:\n  hosts:\n    pve1: { api_url: \"http://x:8006\" }\n", 3, "https://")]
    [InlineData("proxmox:\n  hosts:\n    pve1: { api_url: \"https://x:8006\", fingerprint: \"AB:CD\" }\n", 3, "SHA-256")]
    [InlineData("proxmox:\n  hosts:\n    pve1:\n      api_url: \"https://x:8006\"\n      fingerprint:\n        - \"AB:CD\"\n", 6, "SHA-256")]
    [InlineData("proxmox:\n  hosts:\n    pve1: { api_url: \"https://x:8006\", node_fingerprint: [{}] }\n", 3, "must be a string")]
    [InlineData("proxmox:\n  token_id: \"root@pam\"\n", 2, "USER@REALM!TOKENID")]
    [InlineData("proxmox:\n  tokens: 1\n", 2, "unknown key")]
    public void Bad_settings_are_located_errors(string yaml, int line, string expected)
    {
        var ex = Assert.Throws<RelocationException>(() => ProxmoxSettings.Parse(Parse(yaml), "ops/infra-relocation.yaml"));
        Assert.Equal("ProxmoxSettingsInvalid", ex.ErrorId);
        Assert.Equal(line, ex.Location!.Line);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("abc", ex.Message.Replace("abc", "", StringComparison.Ordinal) == ex.Message ? "" : "abc");
    }

    [Fact]
    public void Several_pins_rotate_the_endpoint_certificate_and_node_fingerprint_pins_the_node_itself()
    {
        var a = string.Join(':', Enumerable.Repeat("AA", 32));
        var b = string.Join(':', Enumerable.Repeat("bb", 32));
        var settings = ProxmoxSettings.Parse(Parse(
            $"proxmox:\n  hosts:\n    pve-a: {{ api_url: \"https://vip.example.net:8006\", node: \"pve-a\", fingerprint: [\"{a}\", \"{b}\"], node_fingerprint: \"{a}\" }}\n"),
            "ops/infra-relocation.yaml");
        var host = settings.GetHost("pve-a");

        Assert.Equal([a, b.ToUpperInvariant()], host.Endpoint.CertificateFingerprints);
        Assert.True(host.Endpoint.IsPinned(b.Replace(":", "", StringComparison.Ordinal)));
        Assert.False(host.Endpoint.IsPinned(string.Join(':', Enumerable.Repeat("CC", 32))));
        Assert.Equal([a], host.NodeFingerprints);
        Assert.Empty(ProxmoxSettings.Parse(Parse("proxmox:\n  hosts:\n    pve-b: { api_url: \"https://x:8006\" }\n"), "f").GetHost("pve-b").NodeFingerprints);
    }

    [Fact]
    public void Settings_resolve_the_secret_from_the_environment_or_the_vault_and_never_show_it()
    {
        var settings = ProxmoxSettings.Parse(Parse(
            "proxmox:\n  token_id: \"automation@pve!relocation\"\n  token_secret: { env: PVE_SECRET_X }\n  hosts:\n    pve-a: { api_url: \"https://10.0.0.5:8006\", node: \"pve-a\" }\n"),
            "ops/infra-relocation.yaml");
        var token = settings.ResolveToken(null, null, getEnvironment: n => n == "PVE_SECRET_X" ? "s3cret" : null);
        Assert.Equal("automation@pve!relocation", token.TokenId);
        Assert.Equal("********", token.Secret.ToString());
        Assert.DoesNotContain("s3cret", token.ToString());
        Assert.Equal("pve-a", settings.GetHost("pve-a").Node);
        var missing = Assert.Throws<RelocationException>(() => settings.ResolveToken(null, null, getEnvironment: _ => null));
        Assert.Equal("ProxmoxTokenSecretMissing", missing.ErrorId);
        Assert.Equal(FailureKind.ObjectNotFound, Assert.Throws<RelocationException>(() => settings.GetHost("pve-b")).Kind);

        var vault = ProxmoxSettings.Parse(Parse("proxmox:\n  token_id: \"a@pve!b\"\n  token_secret: { vault: PveToken }\n"), "f");
        Assert.Equal("a@pve!b", vault.ResolveToken(null, null, n => n == "PveToken" ? new ProxmoxSecret("v") : null).TokenId);
    }

    private static YamlMappingNode Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }
}
