using System.Management.Automation;
using System.Net;
using System.Security;
using InfraRelocation.Core.Proxmox;

namespace InfraRelocation.Commands.Base;

/// <summary>
/// Resolves the Proxmox API token of a cmdlet: <c>-ApiToken &lt;PSCredential&gt;</c> (user name = token id,
/// password = secret) wins; else the token id of the estate config with its secret from the environment
/// variable named there, or from a SecretManagement vault (<c>Get-Secret -Name n -AsPlainText</c>, only when that
/// command exists in the session). Call it on the pipeline thread. The secret never reaches any stream.
/// </summary>
public static class ProxmoxTokenResolver
{
    public static ProxmoxApiToken Resolve(PSCmdlet cmdlet, ProxmoxSettings settings, PSCredential? apiToken)
    {
        ArgumentNullException.ThrowIfNull(cmdlet);
        ArgumentNullException.ThrowIfNull(settings);
        if (apiToken is not null && apiToken != PSCredential.Empty)
        {
            var secret = Plain(apiToken.Password);
            if (string.IsNullOrEmpty(secret))
            {
                throw new RelocationException("ProxmoxTokenSecretMissing", FailureKind.AuthenticationError,
                    $"-ApiToken for {apiToken.UserName} has an empty password; the password is the token secret.", target: apiToken.UserName);
            }
            return settings.ResolveToken(apiToken.UserName, new ProxmoxSecret(secret));
        }
        return settings.ResolveToken(null, null, name => ReadVault(cmdlet, name));
    }

    private static ProxmoxSecret? ReadVault(PSCmdlet cmdlet, string name)
    {
        if (cmdlet.InvokeCommand.GetCommand("Get-Secret", CommandTypes.Cmdlet | CommandTypes.Function | CommandTypes.Alias) is null)
        {
            return null;
        }
        try
        {
            var script = ScriptBlock.Create("param($n) Get-Secret -Name $n -AsPlainText -ErrorAction Stop");
            var result = cmdlet.InvokeCommand.InvokeScript(false, script, null, name);
            var value = result.Count == 0 ? null : result[0]?.BaseObject switch
            {
                string s => s,
                SecureString ss => Plain(ss),
                _ => null,
            };
            return string.IsNullOrEmpty(value) ? null : new ProxmoxSecret(value.Trim());
        }
        catch (RuntimeException)
        {
            // The vault's own error may name the secret's store but never its value; report it as "could not be read".
            return null;
        }
    }

    private static string Plain(SecureString secure) => new NetworkCredential(string.Empty, secure).Password;
}
