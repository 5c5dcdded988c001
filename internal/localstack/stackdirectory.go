package localstack

import "github.com/ssprflow/ssprflow/internal/config"

// LabProfile is the directory profile of the local Samba DC that demo, dev
// and the end-to-end tests start; examples/pilot.yaml names it.
const LabProfile = "lab"

// LabConnectorAccount is the lab domain's AD DS connector account, which the
// demo creates and the simulated sync server reports.
const LabConnectorAccount = `EXAMPLE\MSOL_ssprflow`

// LabDirectory adds the directory profile LabProfile for s's Samba DC to
// cfg, binding as the DC's administrator with the password read from the
// environment variable passwordEnv. Without a DC it adds nothing.
func (s *Stack) LabDirectory(cfg *config.Config, passwordEnv string) {
	if s.DC == nil {
		return
	}
	cfg.Directories = append(cfg.Directories, config.Directory{
		Profile: LabProfile, URL: s.DC.URL(), CAFile: s.DC.CAFile, ServerName: s.DC.ServerName,
		BindUser: s.DC.AdminUser, BindPassword: config.Secret{Env: passwordEnv},
		ConnectorAccount: LabConnectorAccount,
	})
}
