using InfraRelocation.Core.Estate;
using YamlDotNet.RepresentationModel;

namespace InfraRelocation.Core.Proxmox;

/// <summary>
/// One hypervisor of the <c>proxmox.hosts</c> map: where its API is (the node itself, another node of its cluster, or
/// a VIP), its node name, the pins of the certificate that URL presents (<see cref="Fingerprints"/>), and optionally
/// the pins of the node's own certificate (<see cref="NodeFingerprints"/>, checked against what GET /nodes reports).
/// </summary>
public sealed record ProxmoxHostSettings(string HostId, Uri ApiUrl, string Node, IReadOnlyList<string>? Fingerprints, SourceLocation? Location)
{
    public ProxmoxEndpoint Endpoint => new(ApiUrl, Fingerprints ?? []);

    /// <summary>The node's own certificate pins; empty: the node is identified by its name over the pinned endpoint.</summary>
    public IReadOnlyList<string> NodeFingerprints { get; init; } = [];
}

/// <summary>Where the API token secret comes from (never the secret itself).</summary>
public enum ProxmoxSecretSource
{
    /// <summary>Not configured: only an explicit -ApiToken works.</summary>
    None,
    /// <summary>An environment variable (<c>token_secret: { env: NAME }</c>).</summary>
    Environment,
    /// <summary>A SecretManagement vault secret (<c>token_secret: { vault: NAME }</c>).</summary>
    Vault,
}

/// <summary>
/// The <c>proxmox:</c> section of the estate configuration (<c>ops/infra-relocation.yaml</c>):
/// <code>
/// proxmox:
///   token_id: "automation@pve!relocation"
///   token_secret: { env: INFRA_RELOCATION_PVE_TOKEN }   # or { vault: PveRelocationToken }
///   hosts:
///     pve-east-1: { api_url: "https://10.0.0.5:8006", node: "pve-east-1", fingerprint: "AA:BB:..." }
///     pve-east-2: { api_url: "https://pve-vip.example.net:8006", node: "pve-east-2",
///                   fingerprint: ["AA:BB:...", "CC:DD:..."], node_fingerprint: "EE:FF:..." }
/// </code>
/// <c>fingerprint</c> pins the certificate the URL presents (one or a list, for rotation); <c>node_fingerprint</c>
/// pins the target node's own certificate as GET /nodes reports it (one or a list).
/// The secret is never written in the file: a plain string for <c>token_secret</c> is refused.
/// </summary>
public sealed class ProxmoxSettings
{
    /// <summary>The section name in the estate configuration.</summary>
    public const string SectionName = "proxmox";

    /// <summary>Environment variable read when the config names none.</summary>
    public const string DefaultSecretVariable = "INFRA_RELOCATION_PVE_TOKEN";

    private static readonly HashSet<string> s_sectionKeys = new(StringComparer.Ordinal) { "token_id", "token_secret", "hosts" };
    private static readonly HashSet<string> s_hostKeys = new(StringComparer.Ordinal) { "api_url", "node", "fingerprint", "node_fingerprint" };

    private ProxmoxSettings(string file) => File = file;

    /// <summary>The configuration file, relative to the estate root (for messages).</summary>
    public string File { get; }

    /// <summary><c>USER@REALM!TOKENID</c>, or null when not configured.</summary>
    public string? TokenId { get; private init; }

    public ProxmoxSecretSource SecretSource { get; private init; }

    /// <summary>Environment variable or vault secret name, per <see cref="SecretSource"/>.</summary>
    public string? SecretName { get; private init; }

    /// <summary>Hypervisors by host id (the placement policy's ids).</summary>
    public IReadOnlyDictionary<string, ProxmoxHostSettings> Hosts { get; private init; } = new Dictionary<string, ProxmoxHostSettings>();

    /// <summary>Where the <c>proxmox:</c> key is, or null when the section is absent.</summary>
    public SourceLocation? Location { get; private init; }

    /// <summary>The settings of an estate; an empty value when the config or its section is absent.</summary>
    public static ProxmoxSettings Load(EstateLayout layout) => FromConfig(layout.Config);

    public static ProxmoxSettings FromConfig(EstateConfig? config) =>
        config is null ? new ProxmoxSettings(EstateLayout.ConfigFile) : Parse(config.Document, EstateLayout.ConfigFile);

    /// <summary>Reads the <c>proxmox:</c> section of a configuration document; located errors for bad values.</summary>
    public static ProxmoxSettings Parse(YamlMappingNode document, string file)
    {
        if (!document.Children.TryGetValue(new YamlScalarNode(SectionName), out var sectionNode))
        {
            return new ProxmoxSettings(file);
        }
        var keyNode = document.Children.Keys.First(k => k is YamlScalarNode { Value: SectionName });
        if (sectionNode is YamlScalarNode { Value: null or "" or "~" or "null" })
        {
            return new ProxmoxSettings(file) { Location = At(file, keyNode) };
        }
        if (sectionNode is not YamlMappingNode section)
        {
            throw Invalid(file, sectionNode, "'proxmox' must be a mapping (token_id, token_secret, hosts).");
        }

        foreach (var key in section.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? "";
            if (!s_sectionKeys.Contains(name))
            {
                throw Invalid(file, key, $"unknown key 'proxmox.{name}'; known keys: {string.Join(", ", s_sectionKeys.Order(StringComparer.Ordinal))}.");
            }
        }

        string? tokenId = null;
        if (section.Children.TryGetValue(new YamlScalarNode("token_id"), out var tokenNode))
        {
            tokenId = Scalar(file, tokenNode, "proxmox.token_id");
            if (tokenId is not null && (!tokenId.Contains('@') || !tokenId.Contains('!') || tokenId.Contains('=')))
            {
                throw Invalid(file, tokenNode, $"proxmox.token_id '{tokenId}' must have the form USER@REALM!TOKENID (without the secret).");
            }
        }

        var source = ProxmoxSecretSource.None;
        string? secretName = null;
        if (section.Children.TryGetValue(new YamlScalarNode("token_secret"), out var secretNode) && !IsNull(secretNode))
        {
            if (secretNode is YamlScalarNode)
            {
                // Never echo the value: it may be the secret itself.
                throw Invalid(file, secretNode,
                    "proxmox.token_secret must not hold the secret itself; write { env: VARIABLE } or { vault: SECRET_NAME }.");
            }
            if (secretNode is not YamlMappingNode secretMap || secretMap.Children.Count != 1)
            {
                throw Invalid(file, secretNode, "proxmox.token_secret must be exactly one of { env: VARIABLE } or { vault: SECRET_NAME }.");
            }
            var (kind, value) = secretMap.Children.First();
            var kindName = (kind as YamlScalarNode)?.Value ?? "";
            source = kindName switch
            {
                "env" => ProxmoxSecretSource.Environment,
                "vault" => ProxmoxSecretSource.Vault,
                _ => throw Invalid(file, kind, $"proxmox.token_secret: unknown source '{kindName}'; use env or vault."),
            };
            secretName = Scalar(file, value, $"proxmox.token_secret.{kindName}");
            if (string.IsNullOrWhiteSpace(secretName))
            {
                throw Invalid(file, value, $"proxmox.token_secret.{kindName} must name the {(source == ProxmoxSecretSource.Environment ? "environment variable" : "vault secret")}.");
            }
            if (source == ProxmoxSecretSource.Environment && !secretName.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                throw Invalid(file, value, $"proxmox.token_secret.env '{secretName}' is not an environment variable name (letters, digits, _).");
            }
        }

        var hosts = new Dictionary<string, ProxmoxHostSettings>(StringComparer.Ordinal);
        if (section.Children.TryGetValue(new YamlScalarNode("hosts"), out var hostsNode) && !IsNull(hostsNode))
        {
            if (hostsNode is not YamlMappingNode hostsMap)
            {
                throw Invalid(file, hostsNode, "proxmox.hosts must be a mapping of host id to { api_url, node, fingerprint }.");
            }
            foreach (var (hostKey, hostValue) in hostsMap.Children)
            {
                var hostId = (hostKey as YamlScalarNode)?.Value;
                if (string.IsNullOrWhiteSpace(hostId))
                {
                    throw Invalid(file, hostKey, "proxmox.hosts: a host id must be a non-empty string.");
                }
                hosts[hostId] = ParseHost(file, hostId, hostKey, hostValue);
            }
        }

        return new ProxmoxSettings(file)
        {
            TokenId = tokenId,
            SecretSource = source,
            SecretName = secretName,
            Hosts = hosts,
            Location = At(file, keyNode),
        };
    }

    private static ProxmoxHostSettings ParseHost(string file, string hostId, YamlNode key, YamlNode value)
    {
        if (value is not YamlMappingNode map)
        {
            throw Invalid(file, value, $"proxmox.hosts.{hostId} must be a mapping {{ api_url, node, fingerprint }}.");
        }
        foreach (var k in map.Children.Keys)
        {
            var name = (k as YamlScalarNode)?.Value ?? "";
            if (!s_hostKeys.Contains(name))
            {
                throw Invalid(file, k, $"unknown key 'proxmox.hosts.{hostId}.{name}'; known keys: api_url, node, fingerprint, node_fingerprint.");
            }
        }
        if (!map.Children.TryGetValue(new YamlScalarNode("api_url"), out var urlNode) || Scalar(file, urlNode, "api_url") is not { Length: > 0 } urlText)
        {
            throw Invalid(file, key, $"proxmox.hosts.{hostId}.api_url is required (e.g. https://10.0.0.5:8006).");
        }
        if (!Uri.TryCreate(urlText, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttps)
        {
            throw Invalid(file, urlNode, $"proxmox.hosts.{hostId}.api_url '{urlText}' must be an absolute https:// URL.");
        }
        var node = hostId;
        if (map.Children.TryGetValue(new YamlScalarNode("node"), out var nodeNode) && Scalar(file, nodeNode, "node") is { } nodeText)
        {
            if (nodeText.Length == 0 || !nodeText.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'))
            {
                throw Invalid(file, nodeNode, $"proxmox.hosts.{hostId}.node '{nodeText}' is not a Proxmox node name.");
            }
            node = nodeText;
        }
        return new ProxmoxHostSettings(hostId, url, node, Fingerprints(file, hostId, map, "fingerprint"), At(file, key))
        {
            NodeFingerprints = Fingerprints(file, hostId, map, "node_fingerprint"),
        };
    }

    // One SHA-256 fingerprint or a list of them (an ACME renewal lists the old and the new one for a while).
    private static IReadOnlyList<string> Fingerprints(string file, string hostId, YamlMappingNode map, string key)
    {
        if (!map.Children.TryGetValue(new YamlScalarNode(key), out var node) || IsNull(node)) return [];
        var items = node is YamlSequenceNode list ? list.Children : (IEnumerable<YamlNode>)[node];
        var pins = new List<string>();
        foreach (var item in items)
        {
            if (Scalar(file, item, $"proxmox.hosts.{hostId}.{key}") is not { Length: > 0 } text) continue;
            var hex = ProxmoxEndpoint.NormaliseFingerprint(text);
            if (hex.Length != 64 || !hex.All(Uri.IsHexDigit))
            {
                throw Invalid(file, item, $"proxmox.hosts.{hostId}.{key} '{text}' is not a SHA-256 fingerprint (32 hex pairs, AA:BB:...).");
            }
            pins.Add(ProxmoxEndpoint.FormatFingerprint(hex));
        }
        return pins;
    }

    /// <summary>The settings of one hypervisor; a clear error when it is not configured.</summary>
    public ProxmoxHostSettings GetHost(string hostId)
    {
        if (Hosts.TryGetValue(hostId, out var host)) return host;
        var known = Hosts.Count == 0 ? "no hosts are configured" : "configured: " + string.Join(", ", Hosts.Keys.Order(StringComparer.Ordinal));
        throw new RelocationException("ProxmoxHostNotConfigured", FailureKind.ObjectNotFound,
            $"{File}: proxmox.hosts has no entry for '{hostId}' ({known}). Add {{ api_url, node, fingerprint }} for it.",
            Location, hostId);
    }

    /// <summary>A client for one hypervisor.</summary>
    public ProxmoxClient CreateClient(string hostId, ProxmoxCredentials credentials, TimeSpan? requestTimeout = null) =>
        new(GetHost(hostId).Endpoint, credentials, requestTimeout);

    /// <summary>
    /// The API token: an explicit token id/secret (from -ApiToken) wins; else the configured token id with the
    /// secret from <paramref name="lookupVault"/> (vault source) or the environment (env source, or
    /// <see cref="DefaultSecretVariable"/> when no source is configured).
    /// </summary>
    public ProxmoxApiToken ResolveToken(string? explicitTokenId, ProxmoxSecret? explicitSecret,
        Func<string, ProxmoxSecret?>? lookupVault = null, Func<string, string?>? getEnvironment = null)
    {
        getEnvironment ??= Environment.GetEnvironmentVariable;
        if (explicitSecret is not null)
        {
            var id = string.IsNullOrWhiteSpace(explicitTokenId) ? TokenId : explicitTokenId;
            if (string.IsNullOrWhiteSpace(id) || !id.Contains('@') || !id.Contains('!'))
            {
                throw new RelocationException("ProxmoxTokenInvalid", FailureKind.InvalidArgument,
                    $"The API token id '{id}' must have the form USER@REALM!TOKENID (give it as the user name of -ApiToken).", target: id);
            }
            return new ProxmoxApiToken(id, explicitSecret);
        }
        if (string.IsNullOrWhiteSpace(TokenId))
        {
            throw new RelocationException("ProxmoxTokenMissing", FailureKind.AuthenticationError,
                $"No Proxmox API token: pass -ApiToken (user name = token id, password = secret) or set proxmox.token_id and proxmox.token_secret in {File}.",
                Location, File);
        }
        switch (SecretSource)
        {
            case ProxmoxSecretSource.Vault:
                var fromVault = lookupVault?.Invoke(SecretName!);
                if (fromVault is null)
                {
                    throw new RelocationException("ProxmoxTokenSecretMissing", FailureKind.AuthenticationError,
                        $"The secret of token {TokenId} is configured in the vault as '{SecretName}', but it could not be read " +
                        "(is Microsoft.PowerShell.SecretManagement loaded and the vault unlocked?). Or pass -ApiToken.",
                        Location, TokenId);
                }
                return new ProxmoxApiToken(TokenId, fromVault);
            default:
                var variable = SecretSource == ProxmoxSecretSource.Environment ? SecretName! : DefaultSecretVariable;
                var value = getEnvironment(variable);
                if (string.IsNullOrEmpty(value))
                {
                    throw new RelocationException("ProxmoxTokenSecretMissing", FailureKind.AuthenticationError,
                        $"The secret of token {TokenId} is read from the environment variable {variable}, which is not set. Set it or pass -ApiToken.",
                        Location, TokenId);
                }
                return new ProxmoxApiToken(TokenId, new ProxmoxSecret(value.Trim()));
        }
    }

    private static bool IsNull(YamlNode node) => node is YamlScalarNode { Style: not (YamlDotNet.Core.ScalarStyle.SingleQuoted or YamlDotNet.Core.ScalarStyle.DoubleQuoted), Value: null or "" or "~" or "null" };

    private static string? Scalar(string file, YamlNode node, string what)
    {
        if (IsNull(node)) return null;
        if (node is not YamlScalarNode scalar)
        {
            throw Invalid(file, node, $"{what} must be a string.");
        }
        return scalar.Value?.Trim();
    }

    private static SourceLocation At(string file, YamlNode node) => new(file, (int)node.Start.Line, (int)node.Start.Column);

    private static RelocationException Invalid(string file, YamlNode node, string message) =>
        new("ProxmoxSettingsInvalid", FailureKind.InvalidData, $"{file}: {message}", At(file, node), file);
}
