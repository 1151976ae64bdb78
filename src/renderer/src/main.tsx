import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { getAgentBridge } from './api.js';
import { App } from './App.js';
import { connectStores, StoresContext } from './stores/index.js';
import './styles.css';

const root = createRoot(document.getElementById('root') as HTMLElement);
try {
  const { stores } = connectStores(getAgentBridge());
  root.render(
    <StrictMode>
      <StoresContext.Provider value={stores}>
        <App />
      </StoresContext.Provider>
    </StrictMode>,
  );
} catch (e) {
  root.render(<p role="alert">{e instanceof Error ? e.message : String(e)}</p>);
}
